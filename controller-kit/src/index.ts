/**
 * controller-kit: a small, generic controller layer over @kubernetes/client-node
 * (sources, work queue, reconcile runner, conditions, server-side apply, leader election,
 * events, metrics). It knows nothing about natplan's kinds.
 */
export { systemClock, sleep, type Clock } from './clock.js';
export { backoffDelay, KeyedBackoff, type BackoffOptions } from './backoff.js';
export { TemporaryError, PermanentError, classifyError, type ErrorKind } from './errors.js';
export { apiErrorClass, typedApiError, type ApiErrorClass, type CallSemantics } from './kube/api-errors.js';
export { WorkQueue, DEFAULT_RETRY_BACKOFF, type WorkQueueOptions } from './workqueue.js';
export { controller, silentLogger, type Controller, type ControllerOptions, type Result, type Logger } from './controller.js';
export { Informer, type InformerHandlers, type InformerOptions } from './informer.js';
export { ObjectStore, type IndexFunc } from './store.js';
export {
  enqueueOnChange, ownKey, ownerKeys, labelKey, resyncPeriodically, waitForAllSynced, type KeyMapper, type KeySink,
} from './sources.js';
export {
  setCondition, removeCondition, getCondition, isTrue, isFalse, isCurrent, formatTime,
  type Condition, type ConditionInput, type ConditionStatus,
} from './conditions.js';
export { canonicalJson, fnv1a64Hex } from './hash.js';
export { applyObject, applyStatus, deleteObject, type ApplyOptions, type ApplyResult } from './apply.js';
export { ownerReference, hasFinalizer, isBeingDeleted, addFinalizer, removeFinalizer } from './owners.js';
export { LeaderElector, type LeaderElectionOptions } from './leader-election.js';
export { LeaderTerms, NotLeadingError, type LeaderTermsOptions, type TermParts } from './leader-terms.js';
export { EventRecorder, EVENT, type EventInput, type EventRecorderOptions } from './events.js';
export { Metrics, controllerMetrics, writeMetrics, type ControllerMetrics, type WriteMetrics } from './metrics.js';
export { startHttpServer, type Check, type HttpServerOptions, type RunningHttpServer } from './http-server.js';
export { kubeClient, clientFromRequester, typeOf, objectKey, parseKey, type KubeClient } from './kube/client.js';
export { kubeRequester, type KubeRequesterOptions } from './kube/kube-requester.js';
export {
  call, ApiError, isNotFound, isConflict, isGone, isAlreadyExists,
  type ApiRequest, type ApiResponse, type Requester,
} from './kube/request.js';
export { resourcePath, ResourceResolver, type ResourceType } from './kube/resources.js';
export { kubeListWatcher, type ListWatcher, type ListWatchTarget, type WatchEventType } from './kube/list-watch.js';
export { kubeLeaseStore, LEASE, type LeaseRecord, type LeaseStore } from './kube/lease-store.js';
export { formatMicroTime, parseMicroTime } from './kube/microtime.js';
export {
  parseFlags, flagReader, flagUsage, parseDuration, commandRequest, answerCommandRequest, flagErrorLine, USAGE_EXIT_CODE,
  type CommandInfo, type CommandRequest, type FlagSpec, type FlagType, type FlagValue, type ParsedFlags,
} from './flags.js';
export { jsonLogger, type JsonLogger, type LogLevel } from './json-logger.js';
export {
  loadKubeConfig, stopOnSignals, waitForApiServer, holdOpenUntil, StartupError, NoKubeConfigError, ApiServerUnreachableError,
  type WaitForApiServerOptions,
} from './process.js';
export { TokenBucket, rateLimitedRequester, type RateLimitOptions } from './kube/rate-limit.js';
export { BUILD_INFO, registerBuildInfo, type BuildInfo } from './build-info.js';
export { inClusterSource, PlainClusterAccess, readKubeconfig, SERVICE_ACCOUNT_DIR, type AccessSource, type ApiTimeouts, type ClusterAccess, type KubeconfigReading } from './kube/cluster-access.js';
