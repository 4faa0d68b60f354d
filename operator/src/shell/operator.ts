/**
 * Wires the operator: informer caches, three level-based controllers (Services, Nodes,
 * exposure policies), the sources that feed their queues, metrics and health endpoints,
 * and leader election. Only the leader runs controllers; a standby keeps /healthz green.
 */
import type { KubeConfig, KubernetesObject } from '@kubernetes/client-node';
import { controller, type Controller } from '../../../controller-kit/src/controller.js';
import { EventRecorder } from '../../../controller-kit/src/events.js';
import { startHttpServer, type RunningHttpServer } from '../../../controller-kit/src/http-server.js';
import type { JsonLogger } from '../../../controller-kit/src/json-logger.js';
import { kubeClient, objectKey } from '../../../controller-kit/src/kube/client.js';
import { kubeLeaseStore } from '../../../controller-kit/src/kube/lease-store.js';
import { LeaderElector } from '../../../controller-kit/src/leader-election.js';
import { Metrics, controllerMetrics } from '../../../controller-kit/src/metrics.js';
import { enqueueOnChange, labelKey } from '../../../controller-kit/src/sources.js';
import type { OperatorConfig } from '../config.js';
import { API_SERVER_SERVICE } from '../planner/index.js';
import { allInformers, createCaches, serviceKeyByLabel, SERVICE_NAME_LABEL, SLICE_SERVICE_LABEL, type OperatorCaches } from './caches.js';
import { EXPOSURES_KEY, exposureReconciler, refreshExposures, type ExposureState } from './exposure-reconciler.js';
import { nodeReconciler } from './node-reconciler.js';
import { PlanWriter } from './plan-writer.js';
import { serviceReconciler } from './service-reconciler.js';

export interface RunningOperator {
  metrics: Metrics;
  http: RunningHttpServer;
  isLeader(): boolean;
  stop(): Promise<void>;
}

export interface OperatorOptions {
  kubeConfig: KubeConfig;
  config: OperatorConfig;
  logger: JsonLogger;
  /** Called when leadership is lost; main exits so a fresh process rejoins the election. */
  onLostLeadership?: () => void;
}

interface Running { caches: OperatorCaches; controllers: Controller[] }

export async function startOperator(options: OperatorOptions): Promise<RunningOperator> {
  const { kubeConfig, config, logger } = options;
  const client = kubeClient(kubeConfig);
  const metrics = new Metrics({ prefix: 'natplan_', defaultMetrics: true });
  const cm = controllerMetrics(metrics);
  const writer = new PlanWriter(client, metrics, logger);
  const events = new EventRecorder({ client, reportingController: 'natplan.io/operator', reportingInstance: config.leaderElection.identity, logger });
  let running: Running | undefined;
  let synced = false;

  async function run(): Promise<void> {
    const caches = createCaches(kubeConfig, client, logger);
    const state: ExposureState = { current: undefined };
    const services = controller({ name: 'services', concurrency: 2, reconcile: serviceReconciler({ caches, writer, planner: config.planner, exposures: state, logger }), metrics: cm, logger });
    const nodes = controller({ name: 'nodes', reconcile: nodeReconciler({ caches, writer, planner: config.planner, exposures: state }), metrics: cm, logger });
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
    // A plan edited or deleted by hand brings its Service back to reconcile, which repairs it.
    enqueueOnChange(caches.servicePlans, services.queue, serviceKeyByLabel(SERVICE_NAME_LABEL));
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
    running = { caches, controllers: [exposures, services, nodes] };

    for (const informer of allInformers(caches)) informer.start();
    for (const informer of allInformers(caches)) await informer.waitForSync();
    // Exposures first: a node planned before them would be written without its exposures
    // and rewritten a moment later — two writes where nothing changed.
    refreshExposures({ caches, planner: config.planner, state, enqueueNode: () => {}, enqueueService: () => {} });
    synced = true;
    logger.info('caches synced; starting controllers', { services: caches.services.list().length, nodes: caches.nodes.list().length });
    for (const c of running.controllers) c.start();
  }

  async function halt(): Promise<void> {
    const r = running;
    running = undefined;
    synced = false;
    if (!r) return;
    for (const c of r.controllers) await c.stop();
    for (const informer of allInformers(r.caches)) await informer.stop();
  }

  let elector: LeaderElector | undefined;
  if (config.leaderElection.enabled) {
    const { namespace, name, identity, leaseDurationMs } = config.leaderElection;
    elector = new LeaderElector({
      lease: kubeLeaseStore(client, namespace, name),
      identity,
      leaseDurationMs,
      renewDeadlineMs: Math.round(leaseDurationMs * 2 / 3),
      retryPeriodMs: Math.max(200, Math.round(leaseDurationMs / 7)),
      logger,
      onStartedLeading: () => { logger.info('became leader', { identity }); void run().catch((err) => logger.error('operator failed', { err })); },
      onStoppedLeading: () => { logger.info('lost leadership', { identity }); void halt().then(() => options.onLostLeadership?.()); },
    });
    elector.start();
  } else {
    await run();
  }

  const http = await startHttpServer({
    host: config.metrics.host,
    port: config.metrics.port,
    metrics,
    // A standby is ready (it has nothing to do); a leader is ready once its caches synced.
    readiness: { caches: () => synced || (elector !== undefined && !elector.isLeader()) },
  });

  return {
    metrics,
    http,
    isLeader: () => elector?.isLeader() ?? true,
    async stop() {
      await halt();
      await elector?.stop({ release: true });
      await http.close();
    },
  };
}
