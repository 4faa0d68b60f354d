/**
 * The agent's metrics, named like kube-proxy's under the natplan_ prefix so existing
 * dashboards and alerts carry over: sync durations (all, full, partial), network
 * programming latency from each plan's trigger time, failures, and the last sync time.
 */
import type { Metrics } from '../../../controller-kit/src/metrics.js';

/** kube-proxy's buckets for sync and programming latency, in seconds. */
const SYNC_BUCKETS = [0.001, 0.002, 0.004, 0.008, 0.016, 0.032, 0.064, 0.128, 0.256, 0.512, 1.024, 2.048, 4.096, 8.192, 16.384];
const PROGRAMMING_BUCKETS = [0.25, 0.5, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32, 33, 34, 35, 36, 37, 38, 39, 40, 41, 42, 43, 44, 45, 46, 47, 48, 49, 50, 51, 52, 53, 54, 55, 56, 57, 58, 59, 60, 65, 70, 75, 80, 85, 90, 95, 100, 105, 110, 115, 120, 150, 180, 210, 240, 270, 300];

export function agentMetrics(metrics: Metrics) {
  return {
    syncDuration: metrics.histogram('sync_proxy_rules_duration_seconds', 'SyncProxyRules latency in seconds', [], SYNC_BUCKETS),
    fullSyncDuration: metrics.histogram('sync_full_proxy_rules_duration_seconds', 'SyncProxyRules latency in seconds for full resyncs', [], SYNC_BUCKETS),
    partialSyncDuration: metrics.histogram('sync_partial_proxy_rules_duration_seconds', 'SyncProxyRules latency in seconds for partial resyncs', [], SYNC_BUCKETS),
    programmingDuration: metrics.histogram('network_programming_duration_seconds', 'In Cluster Network Programming Latency in seconds', [], PROGRAMMING_BUCKETS),
    syncFailures: metrics.counter('sync_proxy_rules_failures_total', 'Syncs that failed to apply, by backend and error kind.', ['backend', 'kind']),
    lastSync: metrics.gauge('sync_proxy_rules_last_timestamp_seconds', 'The last time proxy rules were successfully synced'),
    lastQueued: metrics.gauge('sync_proxy_rules_last_queued_timestamp_seconds', 'The last time a sync of proxy rules was queued'),
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
