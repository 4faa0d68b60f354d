/**
 * The NodeNatPlan status the agent reports, and when to write it. DESIGN.md §1: a
 * condition change (or a new generation enforced) is written at once; anything else —
 * counts, digest, last sync time — at most once per status period, so the API write rate
 * does not grow with nodes x changes. A change of the gateway mappings is written at once
 * too: they change only when a gateway grants, refuses or moves one, never on a renewal.
 * Per-sync detail goes to metrics and logs instead.
 */
import { backoffDelay, PermanentError, setCondition, TemporaryError, typedApiError, type BackoffOptions, type Condition } from '@natplan/controller-kit';
import type { NodeNatPlanStatus } from '@natplan/api';

export interface SyncReport {
  backend: 'nftables' | 'iptables' | 'none';
  generation: number | undefined;
  ok: boolean;
  /** Why the last sync failed or what is wrong with the input (nft's error text, invalid plans). */
  problem: { reason: string; message: string } | undefined;
  counts: { services?: number; endpoints?: number; exposures?: number };
  digest: string | undefined;
  syncedAt: number;
  durationMs: number;
  /**
   * For a sync that committed: whether the kernel was read back and holds it (undefined:
   * not checked, i.e. true). Without it nothing may be reported as enforced.
   */
  kernel?: { confirmed: true } | { confirmed: false; problem: string };
  /** The kernel had lost the previous commit (flushed, deleted, edited) and this sync repaired it. */
  driftRepaired?: string;
  /** Set by the enforcement watchdog: changes have waited longer than the bound. */
  stalled?: string;
}

/**
 * DESIGN.md §8, "status is what the kernel holds": Ready only when the sync succeeded
 * AND the kernel was read back holding it; only then do observedGeneration, counts and
 * digest move. Degraded says the worst current problem, in this order: a failed sync, a
 * stall (watchdog), an unconfirmed kernel, a drift this sync repaired, invalid plans.
 */
export function statusFor(report: SyncReport, previous: NodeNatPlanStatus | undefined, now: number): NodeNatPlanStatus {
  const generation = report.generation ?? 0;
  const unconfirmed = report.ok && report.kernel?.confirmed === false ? report.kernel.problem : undefined;
  const enforced = report.ok && unconfirmed === undefined;
  let conditions = (previous?.conditions ?? []) as Condition[];
  conditions = setCondition(conditions, enforced
    ? { type: 'Ready', status: 'True', reason: 'RulesApplied', message: `${report.backend} rules enforce generation ${generation} (confirmed in the kernel)`, observedGeneration: generation }
    : unconfirmed !== undefined
      ? { type: 'Ready', status: 'False', reason: 'KernelUnconfirmed', message: unconfirmed, observedGeneration: generation }
      : { type: 'Ready', status: 'False', reason: report.problem?.reason ?? 'SyncFailed', message: report.problem?.message ?? 'the last sync failed', observedGeneration: generation }, now);
  const degraded = !report.ok && report.problem ? report.problem
    : report.stalled ? { reason: 'EnforcementStalled', message: report.stalled }
      : unconfirmed !== undefined ? { reason: 'KernelUnconfirmed', message: unconfirmed }
        : report.driftRepaired ? { reason: 'KernelDriftRepaired', message: `repaired with a full sync: ${report.driftRepaired}` }
          : report.problem;
  conditions = setCondition(conditions, degraded
    ? { type: 'Degraded', status: 'True', reason: degraded.reason, message: degraded.message.slice(0, 4000), observedGeneration: generation }
    : { type: 'Degraded', status: 'False', reason: 'AsExpected', message: 'no problems', observedGeneration: generation }, now);
  const status: NodeNatPlanStatus = { backend: report.backend, conditions };
  // observedGeneration says what is enforced: it only moves when the kernel holds a sync.
  const observed = enforced ? report.generation : previous?.observedGeneration;
  if (observed !== undefined) status.observedGeneration = observed;
  if (enforced) {
    Object.assign(status, {
      services: report.counts.services ?? 0,
      endpoints: report.counts.endpoints ?? 0,
      exposures: report.counts.exposures ?? 0,
      lastSyncTime: new Date(report.syncedAt).toISOString().replace(/\.\d+Z$/, 'Z'),
      lastSyncDurationMilliseconds: Math.round(report.durationMs),
      ...(report.digest ? { rulesetDigest: report.digest } : {}),
    });
  } else if (previous) {
    for (const k of ['services', 'endpoints', 'exposures', 'lastSyncTime', 'lastSyncDurationMilliseconds', 'rulesetDigest'] as const) {
      if (previous[k] !== undefined) (status as Record<string, unknown>)[k] = previous[k];
    }
  }
  return status;
}

const conditionKey = (s: NodeNatPlanStatus | undefined) =>
  JSON.stringify((s?.conditions ?? []).map((c) => [c.type, c.status, c.reason]).sort());

/** 'now', or the delay (ms) after which the write is due; undefined when nothing changed. */
export function whenToWrite(written: { status: NodeNatPlanStatus; at: number } | undefined, next: NodeNatPlanStatus, now: number, periodMs: number): 'now' | number | undefined {
  if (!written) return 'now';
  if (conditionKey(written.status) !== conditionKey(next) || written.status.observedGeneration !== next.observedGeneration || written.status.backend !== next.backend) return 'now';
  // What a gateway granted or refused is news for the policy's status (a new external address, a refusal).
  if (JSON.stringify(written.status.gatewayMappings ?? []) !== JSON.stringify(next.gatewayMappings ?? [])) return 'now';
  const { lastSyncTime: _a, lastSyncDurationMilliseconds: _b, ...restWritten } = written.status;
  const { lastSyncTime: _c, lastSyncDurationMilliseconds: _d, ...restNext } = next;
  const materialChange = JSON.stringify(restWritten) !== JSON.stringify(restNext);
  const due = written.at + periodMs - now;
  if (due <= 0) return 'now';
  // Only the sync time moved: refresh it once per period so `kubectl get` shows a live agent.
  return materialChange || next.lastSyncTime !== written.status.lastSyncTime ? due : undefined;
}

/** What a failed status write means for the next attempt (afterStatusWriteFailure). */
export interface StatusWriteFailure {
  failures: number;
  /** The error's class in controller-kit's taxonomy, as the operator's writes use it. */
  kind: 'temporary' | 'permanent';
  reason: string;
  /** When to write again; none for a permanent refusal: only a new status is written. */
  retryInMs?: number;
}

/** Status write retries: 1 s doubling to 30 s, spread by up to 10%. */
export const STATUS_WRITE_RETRY: BackoffOptions = { baseMs: 1000, maxMs: 30_000, jitter: 0.1 };

/**
 * A failed status write, sorted by the API error taxonomy (typedApiError): a refusal of
 * the request itself (400, 422: an invalid status) is not retried, since the same status
 * is refused again; anything else (429, 5xx, 403 while RBAC or the node-identity policy
 * settles, a network error, or an unforeseen error) is retried with backoff, no sooner
 * than the server's Retry-After, so that a status the kernel no longer matches does not
 * stand until the next sync. `random` spreads the jitter (pass Math.random).
 */
export function afterStatusWriteFailure(err: unknown, failures: number, random: () => number): StatusWriteFailure {
  const typed = typedApiError(err);
  if (typed instanceof PermanentError) return { failures: failures + 1, kind: 'permanent', reason: typed.reason };
  const backoff = backoffDelay(STATUS_WRITE_RETRY, failures, random);
  const delayMs = typed instanceof TemporaryError ? typed.delayMs ?? 0 : 0;
  const reason = typed instanceof TemporaryError ? typed.reason : 'UnknownError';
  return { failures: failures + 1, kind: 'temporary', reason, retryInMs: Math.max(backoff, delayMs) };
}
