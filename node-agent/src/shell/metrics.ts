/**
 * The agent's metrics, named like kube-proxy's under the natplan_ prefix, and the ones
 * dashboards read also under kube-proxy's exact names (kube-proxy-metrics.ts): sync
 * durations (all, full, partial), network programming latency from each plan's trigger
 * time, failures, the last sync time and pending changes.
 */
import type { Metrics } from '@natplan/controller-kit';
import { KubeProxyMetrics, PROGRAMMING_BUCKETS, SYNC_BUCKETS } from './kube-proxy-metrics.js';

/** What a sync's duration covers: all of it, as kube-proxy's syncProxyRules is timed. */
const WHOLE_SYNC = ' (the whole sync: desired state and plan validation, render, apply, kernel check)';

export function agentMetrics(metrics: Metrics) {
  const kube = new KubeProxyMetrics(metrics.registry);
  const both = {
    histogram: (name: string, help: string, buckets: number[]) => kube.histogram(metrics.histogram(name, help, [], buckets), name, help, buckets),
    gauge: (name: string, help: string) => kube.gauge(metrics.gauge(name, help), name, help),
  };
  return {
    /** The IP families the kube-proxy-named metrics are observed for (one proxier each in kube-proxy). */
    kubeProxy: kube,
    syncDuration: both.histogram('sync_proxy_rules_duration_seconds', `SyncProxyRules latency in seconds${WHOLE_SYNC}`, SYNC_BUCKETS),
    fullSyncDuration: both.histogram('sync_full_proxy_rules_duration_seconds', `SyncProxyRules latency in seconds for full resyncs${WHOLE_SYNC}`, SYNC_BUCKETS),
    partialSyncDuration: both.histogram('sync_partial_proxy_rules_duration_seconds', `SyncProxyRules latency in seconds for partial resyncs${WHOLE_SYNC}`, SYNC_BUCKETS),
    programmingDuration: both.histogram('network_programming_duration_seconds', 'In Cluster Network Programming Latency in seconds', PROGRAMMING_BUCKETS),
    syncFailures: metrics.counter('sync_proxy_rules_failures_total', 'Syncs that failed to apply, by backend and error kind.', ['backend', 'kind']),
    lastSync: both.gauge('sync_proxy_rules_last_timestamp_seconds', 'The last time proxy rules were successfully synced'),
    lastQueued: both.gauge('sync_proxy_rules_last_queued_timestamp_seconds', 'The last time a sync of proxy rules was queued'),
    changes: kube.changes(metrics),
    invalidPlans: metrics.gauge('invalid_plans', 'Plans failing validation whose last good version is kept.'),
    statusWrites: metrics.counter('status_writes_total', 'NodeNatPlan status writes.'),
    driftRepairs: metrics.counter('kernel_drift_repairs_total', 'Syncs made full because the kernel no longer held the last commit (flushed, deleted or edited rules).', ['backend']),
    kernelUnconfirmed: metrics.counter('kernel_unconfirmed_syncs_total', 'Syncs whose commit the kernel check could not confirm.', ['backend']),
    enforcementStalled: metrics.gauge('enforcement_stalled', '1 while plan changes have waited longer than --enforcement-timeout to be enforced.'),
    enforcementPending: metrics.gauge('enforcement_pending_seconds', 'How long the oldest plan change not yet enforced has waited.'),
    conntrackErrors: metrics.counter('conntrack_cleanup_errors_total', 'Failed stale-UDP conntrack deletions (including timed-out ones).'),
  };
}

export type AgentMetrics = ReturnType<typeof agentMetrics>;
