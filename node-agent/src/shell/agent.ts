/**
 * Wires the node agent: two informers (its own NodeNatPlan by field selector, all
 * ServiceNatPlans), the sync loop, the applier of the detected backend, health-check
 * servers, metrics, and the rate-limited status report. Reads nothing but plans.
 */
import type { KubernetesObject } from '@kubernetes/client-node';
import type { ClusterAccess, JsonLogger } from '@natplan/controller-kit';
import {
  applyStatus, Informer, kubeClient, kubeListWatcher, Metrics, registerBuildInfo, type RunningHttpServer, startHttpServer,
} from '@natplan/controller-kit';
import type { NodeNatPlan, NodeNatPlanStatus, ServiceNatPlan } from '@natplan/api';
import { createDetectedApplier, type Applier } from '../applier/index.js';
import type { AgentConfig } from '../config.js';
import { createExec, type BackendPreference, type Exec } from '../exec/index.js';
import type { RenderInput } from '../render/index.js';
import { desiredState, newLastGood } from './desired-state.js';
import { familiesOf } from './kube-proxy-metrics.js';
import { kubeProxyPresence } from './kube-proxy-presence.js';
import { agentMetrics } from './metrics.js';
import { NodeHealth } from './node-health.js';
import { specChanged } from './plan-events.js';
import { afterStatusWriteFailure, statusFor, whenToWrite, type SyncReport } from './status.js';
import { decideSync, programmingLatencies, takeChangedPlans, type SyncStep } from './sync-decision.js';
import { SyncLoop } from './sync-loop.js';
import { startGatewayMappings } from './gateway.js';
import { EnforcementWatchdog } from './watchdog.js';

export const AGENT_FIELD_MANAGER = 'natplan-agent';

export interface AgentOptions {
  kubeConfig: ClusterAccess;
  config: AgentConfig;
  logger: JsonLogger;
  /** Defaults to the host, or the --netns namespace. */
  exec?: Exec;
}

export interface RunningAgent {
  http: RunningHttpServer;
  metrics: Metrics;
  /** Requests a sync and resolves with whether it succeeded. */
  syncNow(): Promise<boolean>;
  backend(): string;
  /** Stops watching and syncing; the rules stay in place (never a flush on restart). */
  stop(): Promise<void>;
}

export async function startAgent(options: AgentOptions): Promise<RunningAgent> {
  const { kubeConfig, config, logger } = options;
  const client = kubeClient(kubeConfig);
  const exec = options.exec ?? createExec(config.netns ? { netns: config.netns } : 'host');
  const metrics = new Metrics({ prefix: 'natplan_', defaultMetrics: true });
  registerBuildInfo(metrics);
  const m = agentMetrics(metrics);
  const nodePlans = new Informer<NodeNatPlan>(kubeListWatcher(kubeConfig, client, {
    apiVersion: 'natplan.io/v1alpha1', kind: 'NodeNatPlan', fieldSelector: `metadata.name=${config.nodeName}`,
  }), { name: 'NodeNatPlan', logger });
  const servicePlans = new Informer<ServiceNatPlan>(kubeListWatcher(kubeConfig, client, { apiVersion: 'natplan.io/v1alpha1', kind: 'ServiceNatPlan' }), { name: 'ServiceNatPlan', logger });
  const health = new NodeHealth({
    target: exec.target, logger, healthz: config.healthz, healthCheckServers: config.healthCheckServers, timeoutMs: 2 * config.enforcementTimeoutMs,
    families: () => m.kubeProxy.families, nodeEligible: () => !nodePlans.get(config.nodeName)?.metadata?.deletionTimestamp,
  });
  const lastGood = newLastGood();
  let applier: { preference: BackendPreference; applier: Applier<RenderInput> } | undefined;
  let ready = false;
  /**
   * ServiceNatPlans added or updated since the last successful sync (the latest version
   * of each): what is "newly programmed" when it succeeds. Fed by the informer's events,
   * so a sync does not walk every plan to find the few that changed.
   */
  const changedPlans = new Map<string, ServiceNatPlan>();
  /** When the oldest sync request not yet served by a sync was made (for the debug log). */
  let firstRequestAt: number | undefined;
  /** The first sync programs everything there is: no latency is observed for it. */
  let firstSyncObserved = false;
  /** The changed plans the current (or last failed) sync took; see takeChangedPlans. */
  let rendered: Map<string, ServiceNatPlan> | undefined;
  let written: { status: NodeNatPlanStatus; at: number } | undefined;
  let statusTimer: NodeJS.Timeout | undefined;
  let latest: NodeNatPlanStatus | undefined;
  /** The last sync's report, re-published with the watchdog's verdict when that changes. */
  let lastReport: SyncReport | undefined;
  let stalled: string | undefined;
  const watchdog = new EnforcementWatchdog(config.enforcementTimeoutMs, () => performance.now());
  // Port mappings on the NAT gateway for exposures that ask for one; a change is reported at once.
  const gateway = await startGatewayMappings(config, exec, logger, () => publish(), () => nodePlans.get(config.nodeName)?.status?.gatewayMappings);

  /** Writes run one at a time, each with the newest status: two in flight could land out of order. */
  let writing: Promise<void> = Promise.resolve();
  let statusWriteFailures = 0;
  function writeStatus(): Promise<void> {
    clearTimeout(statusTimer);
    statusTimer = undefined;
    writing = writing.then(writeLatest);
    return writing;
  }

  async function writeLatest(): Promise<void> {
    if (!latest || written?.status === latest) return;
    const status = latest;
    try {
      const started = performance.now();
      await applyStatus(client, { apiVersion: 'natplan.io/v1alpha1', kind: 'NodeNatPlan', metadata: { name: config.nodeName }, status } as KubernetesObject, { fieldManager: AGENT_FIELD_MANAGER });
      logger.debug('status written', { ms: Math.round(performance.now() - started) });
      written = { status, at: Date.now() };
      statusWriteFailures = 0;
      m.statusWrites.inc();
    } catch (err) {
      const failure = afterStatusWriteFailure(err, statusWriteFailures, Math.random);
      statusWriteFailures = failure.failures;
      logger.error('status write failed', { err, class: failure.kind, reason: failure.reason, retryInMs: failure.retryInMs });
      if (failure.retryInMs !== undefined && !statusTimer) statusTimer = setTimeout(() => void writeStatus(), failure.retryInMs);
    }
  }

  function report(r: SyncReport): void {
    lastReport = r;
    publish();
  }

  function publish(): void {
    if (!lastReport) return;
    const previous = latest ?? nodePlans.get(config.nodeName)?.status;
    latest = statusFor({ ...lastReport, ...(stalled ? { stalled } : {}) }, previous, Date.now());
    const mappings = gateway?.report() ?? [];
    if (mappings.length > 0) latest.gatewayMappings = mappings;
    const when = whenToWrite(written, latest, Date.now(), config.statusPeriodMs);
    if (when === 'now') void writeStatus();
    else if (when !== undefined && !statusTimer) statusTimer = setTimeout(() => void writeStatus(), when);
  }

  /** Polled: turns the watchdog's verdict into a metric, a log line and (on a change) the status. */
  function watch(): void {
    const verdict = watchdog.stall();
    m.enforcementPending.set(watchdog.pendingMs() / 1000);
    m.enforcementStalled.set(verdict ? 1 : 0);
    if ((verdict === undefined) === (stalled === undefined)) return;
    stalled = verdict;
    if (verdict) logger.error('enforcement stalled', { reason: verdict });
    else logger.info('enforcement caught up');
    if (!lastReport) lastReport = { backend: applier?.applier.backend ?? 'none', generation: nodePlans.get(config.nodeName)?.metadata?.generation, ok: true, problem: undefined, counts: {}, digest: undefined, syncedAt: Date.now(), durationMs: 0, kernel: { confirmed: false, problem: 'no sync has completed yet' } };
    publish();
  }

  async function ensureApplier(preference: BackendPreference): Promise<Applier<RenderInput>> {
    if (applier?.preference === preference) return applier.applier;
    const created = await createDetectedApplier(exec, preference, {
      fullSyncIntervalMs: config.resyncPeriodMs,
      conntrack: {
        onLateErrors: (errors) => {
          m.conntrackErrors.inc(errors.length);
          for (const err of errors) logger.warn('stale UDP conntrack cleanup failed', { err });
        },
      },
    });
    const old = applier?.applier;
    applier = { preference, applier: created };
    logger.info('backend selected', { backend: created.backend, preference });
    // A backend switch removes the other backend's rules so the two never both answer.
    if (old && old.backend !== created.backend) await old.cleanup().catch((err) => logger.error('cleanup of the previous backend failed', { err }));
    return created;
  }

  async function sync(): Promise<boolean> {
    watchdog.syncStarted();
    const started = performance.now();
    const enforced = await syncOnce();
    // The whole sync, as kube-proxy times syncProxyRules: desired state, validation,
    // render, apply, kernel check and health-check update.
    const seconds = (performance.now() - started) / 1000;
    m.syncDuration.observe(seconds);
    if (enforced.mode === 'incremental') m.partialSyncDuration.observe(seconds);
    else if (enforced.mode !== undefined && enforced.mode !== 'unchanged') m.fullSyncDuration.observe(seconds);
    watchdog.syncFinished(enforced.ok, enforced.failure);
    watch();
    return enforced.ok;
  }

  async function syncOnce(): Promise<{ ok: boolean; failure?: string; mode?: string }> {
    const started = performance.now();
    // How long the oldest request waited for this sync (the loop's pacing, or a sync before it).
    const waitedMs = firstRequestAt === undefined ? 0 : started - firstRequestAt;
    firstRequestAt = undefined;
    const changesRead = m.changes.mark();
    rendered = takeChangedPlans(rendered, changedPlans);
    const taken = rendered.size;
    changedPlans.clear();
    // One snapshot for the render and for the programming latency: a plan that arrives
    // during this sync is observed by the next one, which programs it.
    const plans = servicePlans.list();
    const state = desiredState(config.nodeName, nodePlans.get(config.nodeName), plans, lastGood);
    m.invalidPlans.set(state.problems.length);
    for (const p of state.problems) logger.warn('invalid plan', { problem: p });
    const input = state.input;
    const desiredMs = performance.now() - started;
    const step = await applyInput(input);
    const decision = decideSync(step, { generation: state.generation, problems: state.problems, nowMs: Date.now(), durationMs: performance.now() - started });
    if (decision.failureMetric) m.syncFailures.inc(decision.failureMetric);
    if (step.kind === 'noPlan') {
      // Nothing can be enforced (or reported) before the operator writes this node's plan;
      // a plan that went away (the Node was deleted) takes its gateway mappings with it.
      gateway?.update([]);
      logger.info('waiting for this node\'s NodeNatPlan', { node: config.nodeName });
    } else if (step.kind === 'applied') {
      const { backend, result } = step;
      if (!result.ok) logger.error('sync failed; previous rules stay in place', { mode: result.mode, reason: result.reason });
      else {
        if (result.driftRepaired) {
          m.driftRepairs.inc({ backend });
          logger.warn('kernel drift repaired with a full sync', { reason: result.driftRepaired, ms: Math.round(result.durationMs) });
        }
        if (result.conntrackErrors.length) {
          m.conntrackErrors.inc(result.conntrackErrors.length);
          for (const err of result.conntrackErrors) logger.warn('stale UDP conntrack cleanup failed', { err });
        }
        if (decision.kernelUnconfirmed) {
          m.kernelUnconfirmed.inc({ backend });
          logger.error('the kernel did not confirm the sync; the next one is full', { reason: decision.failure });
        }
      }
    }
    if (decision.programmed && input) {
      for (const seconds of programmingLatencies(rendered, Date.now(), !firstSyncObserved)) m.programmingDuration.observe(seconds);
      firstSyncObserved = true;
      rendered = undefined;
      // Asked of the gateway only once the node accepts the traffic; released when gone from the plan.
      gateway?.update(input.node.exposures ?? []);
      const healthStarted = performance.now();
      await health.synced(input);
      m.lastSync.set(Date.now() / 1000);
      m.changes.synced(changesRead);
      ready = true;
      if (decision.mode !== 'unchanged' && step.kind === 'applied' && step.result.ok) {
        const round = (ms: number) => Math.round(ms * 10) / 10;
        const stages = Object.fromEntries(Object.entries(step.result.stagesMs).map(([k, v]) => [k, round(v)]));
        logger.debug('synced', {
          mode: decision.mode, ms: round(performance.now() - started), waitedMs: round(waitedMs), plans: taken, counts: step.result.counts,
          stagesMs: { desired: round(desiredMs), ...stages, health: round(performance.now() - healthStarted) },
        });
      }
    }
    if (decision.report) report(decision.report);
    return { ok: decision.ok, ...(decision.failure !== undefined ? { failure: decision.failure } : {}), ...(decision.mode !== undefined ? { mode: decision.mode } : {}) };
  }

  /** Picks the backend the plan asks for and applies the input: the sync's only I/O on rules. */
  async function applyInput(input: RenderInput | undefined): Promise<SyncStep> {
    if (!input) return { kind: 'noPlan' };
    m.kubeProxy.families = familiesOf(input);
    let active: Applier<RenderInput>;
    try {
      active = await ensureApplier(input.node.backend ?? 'auto');
    } catch (err) {
      return { kind: 'noBackend', message: err instanceof Error ? err.message : String(err) };
    }
    return { kind: 'applied', backend: active.backend, result: await active.apply(input) };
  }

  const loop = new SyncLoop({ sync, minPeriodMs: config.minSyncPeriodMs });
  const request = () => { firstRequestAt ??= performance.now(); m.lastQueued.set(Date.now() / 1000); health.queued(); loop.request(); };
  servicePlans.on({ add: (p) => m.changes.record(undefined, p), update: (o, p) => m.changes.record(o, p), delete: (p) => m.changes.record(p, undefined) });
  const planKey = (p: ServiceNatPlan): string => `${p.metadata?.namespace}/${p.metadata?.name}`;
  servicePlans.on({ add: (p) => changedPlans.set(planKey(p), p), update: (_o, p) => changedPlans.set(planKey(p), p), delete: (p) => changedPlans.delete(planKey(p)) });
  /** A plan event: a desired change the watchdog waits to see enforced. */
  const changed = () => { watchdog.changed(); request(); };
  // An update that leaves the spec alone (the agent's own status writes) asks for nothing.
  const updated = (previous: KubernetesObject, next: KubernetesObject) => {
    if (!specChanged(previous, next)) return;
    logger.debug('plan changed', { namespace: next.metadata?.namespace, name: next.metadata?.name, resourceVersion: next.metadata?.resourceVersion });
    changed();
  };
  for (const informer of [nodePlans, servicePlans] as unknown as Informer<KubernetesObject>[]) {
    informer.on({ add: changed, update: updated, delete: changed });
    informer.start();
  }
  await Promise.all([nodePlans.waitForSync(), servicePlans.waitForSync()]);
  loop.start();
  changed();
  // kube-proxy's rules beside ours: looked for at start and at each full resync (reads only).
  const kubeProxy = kubeProxyPresence(exec, logger, metrics);
  void kubeProxy.check();
  const resync = setInterval(() => { applier?.applier.requestFullSync(); request(); void kubeProxy.check(); }, config.resyncPeriodMs);
  // An idle agent still reads the kernel back now and then (a constant-cost check, no
  // render), so drift is repaired without waiting for a plan change.
  let checking = false;
  const kernelCheck = setInterval(() => {
    const active = applier?.applier;
    if (!active || checking) return;
    checking = true;
    void active.verifyKernel().then((check) => {
      if (check && !check.confirmed) {
        logger.warn('the kernel no longer holds the last commit; repairing', { reason: check.problem });
        request();
      }
    }, (err: unknown) => logger.error('kernel check failed', { err })).finally(() => { checking = false; });
  }, config.kernelCheckPeriodMs);
  const watchTimer = setInterval(watch, Math.min(1000, config.enforcementTimeoutMs / 4));

  await health.start();
  const http = await startHttpServer({ host: config.metrics.host, port: config.metrics.port, metrics, readiness: { synced: () => ready } });
  return {
    http,
    metrics,
    syncNow: () => loop.syncNow(),
    backend: () => applier?.applier.backend ?? 'none',
    async stop() {
      clearInterval(resync);
      clearInterval(kernelCheck);
      clearInterval(watchTimer);
      clearTimeout(statusTimer);
      await loop.stop();
      await gateway?.stop();
      await nodePlans.stop();
      await servicePlans.stop();
      await health.stop();
      await http.close();
    },
  };
}
