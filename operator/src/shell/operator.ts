/**
 * Wires the operator: informer caches, three level-based controllers (Services, Nodes,
 * exposure policies), the sources that feed their queues, metrics and health endpoints,
 * and leader election. Only the leader runs controllers; a standby keeps /healthz green.
 * Each leadership term builds its own caches and controllers (LeaderTerms): controllers
 * start only once that term's caches synced, and after the term ends its writes are
 * refused and everything it started is stopped before another term begins.
 */
import type { KubernetesObject } from '@kubernetes/client-node';
import type { ClusterAccess, JsonLogger, Requester } from '@natplan/controller-kit';
import {
  clientFromRequester, controller, type Controller, controllerMetrics, enqueueOnChange, EventRecorder, kubeClient, kubeLeaseStore, labelKey, LeaderElector, LeaderTerms, Metrics, objectKey, rateLimitedRequester, registerBuildInfo, type RunningHttpServer, startHttpServer, type TermParts, TokenBucket,
} from '@natplan/controller-kit';
import type { OperatorConfig } from '../config.js';
import { API_SERVER_SERVICE } from '../planner/index.js';
import { allInformers, createCaches, serviceKeyByLabel, SERVICE_NAME_LABEL, SLICE_SERVICE_LABEL } from './caches.js';
import { EXPOSURES_KEY, exposureReconciler, refreshExposures, type ExposureState } from './exposure-reconciler.js';
import { nodeReconciler } from './node-reconciler.js';
import { PlanWriter } from './plan-writer.js';
import { Rejections } from './rejections.js';
import { asService, serviceReconciler } from './service-reconciler.js';

export interface RunningOperator {
  metrics: Metrics;
  http: RunningHttpServer;
  isLeader(): boolean;
  stop(): Promise<void>;
}

export interface OperatorOptions {
  kubeConfig: ClusterAccess;
  config: OperatorConfig;
  logger: JsonLogger;
  /** Called once a term ended because leadership was lost (not on stop()); the operator itself stays a candidate. */
  onLostLeadership?: () => void;
  /** Wraps every API request (the Lease's too): tests inject delays here, as a loaded machine would. */
  wrapRequester?: (requester: Requester) => Requester;
}

export async function startOperator(options: OperatorOptions): Promise<RunningOperator> {
  const { kubeConfig, config, logger } = options;
  const plain = kubeClient(kubeConfig);
  const direct = options.wrapRequester ? clientFromRequester(options.wrapRequester(plain.requester)) : plain;
  const metrics = new Metrics({ prefix: 'natplan_', defaultMetrics: true });
  registerBuildInfo(metrics);
  const cm = controllerMetrics(metrics);
  const terms = new LeaderTerms({ build: buildTerm, logger });
  // Every write but the Lease's goes through the write limiter (the Lease is renewed on
  // time however many plans wait) and the term fence: none leaves after leadership ended.
  const writeLimit = new TokenBucket({ qps: config.throughput.qps, burst: config.throughput.burst });
  const client = clientFromRequester(terms.fence(rateLimitedRequester(direct.requester, writeLimit)));
  const writer = new PlanWriter(client, metrics, logger);
  const events = new EventRecorder({ client, reportingController: 'natplan.io/operator', reportingInstance: config.leaderElection.identity, logger });
  const rejections = new Rejections(events, metrics);

  function buildTerm(): TermParts {
    const caches = createCaches(kubeConfig, client, logger);
    const state: ExposureState = { current: undefined };
    rejections.reset();
    writer.forgetDecisions();
    const reconcileService = serviceReconciler({ caches, writer, planner: config.planner, exposures: state, logger, events });
    const reconcileNode = nodeReconciler({ caches, writer, planner: config.planner, exposures: state });
    const node = (name: string) => { const n = caches.nodes.get(name); return n && { ...n, apiVersion: 'v1', kind: 'Node' }; };
    const service = (key: string) => { const s = caches.services.get(key); return s && asService(s); };
    const services: Controller = controller({
      name: 'services', concurrency: config.throughput.workers, metrics: cm, logger,
      reconcile: async (key) => { await reconcileService(key); await rejections.accepted(service(key), key, 'ServiceNatPlan'); },
      // Refused by the API server: not retried until the Service or its slices change.
      onPermanentError: async (key, err) => { const s = service(key); if (s) await rejections.rejected(s, key, 'ServiceNatPlan', err); },
      onTemporaryError: (key, err, failures) => rejections.failed(service(key), key, 'ServiceNatPlan', err, failures),
    });
    const nodes: Controller = controller({
      name: 'nodes', metrics: cm, logger,
      reconcile: async (name) => { await reconcileNode(name); await rejections.accepted(node(name), name, 'NodeNatPlan'); },
      onPermanentError: async (name, err) => { const n = node(name); if (n) await rejections.rejected(n, name, 'NodeNatPlan', err); },
      onTemporaryError: (name, err, failures) => rejections.failed(node(name), name, 'NodeNatPlan', err, failures),
    });
    const exposures = controller({
      name: 'exposures',
      reconcile: exposureReconciler({ caches, planner: config.planner, writer, state, events, logger, now: () => Date.now(), enqueueNode: (n) => nodes.queue.add(n), enqueueService: (k) => services.queue.add(k) }),
      metrics: cm,
      logger,
    });
    const toExposures = () => [EXPOSURES_KEY];
    enqueueOnChange(caches.services, services.queue);
    enqueueOnChange(caches.services, exposures.queue, toExposures);
    enqueueOnChange(caches.slices, services.queue, labelKey(SLICE_SERVICE_LABEL));
    caches.slices.on({ update: (_old, s) => logger.debug('slice changed', { namespace: s.metadata?.namespace, name: s.metadata?.name, resourceVersion: s.metadata?.resourceVersion }) });
    // A plan edited or deleted by hand brings its Service back to reconcile, which repairs it;
    // the plan this operator just wrote, coming back through the watch as it was applied,
    // does not (on a first plan that would reconcile every Service twice).
    const planService = serviceKeyByLabel(SERVICE_NAME_LABEL);
    const enqueuePlanService = (...plans: KubernetesObject[]) => { for (const p of plans) for (const k of planService(p)) services.queue.add(k); };
    const asPlan = (p: KubernetesObject) => ({ ...p, kind: 'ServiceNatPlan' });
    caches.servicePlans.on({
      add: (p) => { if (!writer.isAsDecided(asPlan(p))) enqueuePlanService(p); },
      update: (old, p) => { if (!writer.isAsDecided(asPlan(p))) enqueuePlanService(old, p); },
      delete: (p) => enqueuePlanService(p),
    });
    enqueueOnChange(caches.servicePlans, exposures.queue, (plan: KubernetesObject) => {
      const key = serviceKeyByLabel(SERVICE_NAME_LABEL)(plan)[0];
      return key && state.current?.exposedServices.has(key) ? [EXPOSURES_KEY] : [];
    });
    enqueueOnChange(caches.nodes, nodes.queue);
    enqueueOnChange(caches.nodes, exposures.queue, toExposures);
    enqueueOnChange(caches.nodePlans, nodes.queue, (p) => [objectKey(p)]);
    enqueueOnChange(caches.nodePlans, exposures.queue, toExposures);
    enqueueOnChange(caches.policies, exposures.queue, toExposures);
    // Authority: a grant, a namespace's labels or the API server's endpoints decide what
    // every policy may claim, so any change recomputes them all.
    enqueueOnChange(caches.grants, exposures.queue, toExposures);
    enqueueOnChange(caches.namespaces, exposures.queue, toExposures);
    const apiServerKey = `${API_SERVER_SERVICE.namespace}/${API_SERVER_SERVICE.name}`;
    enqueueOnChange(caches.slices, exposures.queue, (slice: KubernetesObject) => (labelKey(SLICE_SERVICE_LABEL)(slice)[0] === apiServerKey ? [EXPOSURES_KEY] : []));
    return {
      informers: allInformers(caches),
      controllers: [exposures, services, nodes],
      onSynced: () => {
        // Exposures first: a node planned before them would be written without its exposures
        // and rewritten a moment later — two writes where nothing changed.
        refreshExposures({ caches, planner: config.planner, state, enqueueNode: () => {}, enqueueService: () => {} });
        logger.info('caches synced; starting controllers', { services: caches.services.list().length, nodes: caches.nodes.list().length });
      },
    };
  }

  let stopping = false;
  let elector: LeaderElector | undefined;
  if (config.leaderElection.enabled) {
    const { namespace, name, identity, leaseDurationMs } = config.leaderElection;
    elector = new LeaderElector({
      lease: kubeLeaseStore(direct, namespace, name),
      identity,
      leaseDurationMs,
      renewDeadlineMs: Math.round(leaseDurationMs * 2 / 3),
      retryPeriodMs: Math.max(200, Math.round(leaseDurationMs / 7)),
      logger,
      onStartedLeading: (signal) => void terms.begin(signal).catch((err: unknown) => logger.error('operator term failed', { error: String(err) })),
      // The term ends by itself (the signal); a lost lease, not our own stop, is what main exits on.
      onStoppedLeading: () => { if (!stopping) void terms.end().then(() => options.onLostLeadership?.()); },
    });
    elector.start();
  } else {
    await terms.begin(new AbortController().signal);
  }

  const http = await startHttpServer({
    host: config.metrics.host,
    port: config.metrics.port,
    metrics,
    // A standby is ready (it has nothing to do); a leader is ready once its caches synced.
    readiness: { caches: () => terms.isRunning() || (elector !== undefined && !elector.isLeader()) },
  });

  return {
    metrics,
    http,
    isLeader: () => elector?.isLeader() ?? true,
    async stop() {
      stopping = true;
      await terms.close();
      await elector?.stop({ release: true });
      await http.close();
    },
  };
}
