/**
 * The agent's decisions around one sync, as pure functions: which changed plans a sync
 * takes, what its outcome means (status report, metric labels, whether the loop retries,
 * whether the plans it took count as programmed), and which programming latencies to
 * observe. No I/O and no clock: times come in as arguments. The shell (agent.ts) reads
 * the informers, calls the applier, and carries out what these return.
 */
import { backoffDelay, type BackoffOptions } from '@natplan/controller-kit/backoff';
import type { ServiceNatPlan } from '@natplan/api';
import type { ApplyMode, ApplyResult } from '../applier/types.js';
import type { Backend } from '../exec/index.js';
import type { SyncReport } from './status.js';

/**
 * The plans changed since the last successful sync, taken at the start of this one: the
 * ones a failed sync took before (`carried`) plus those changed since (`changed`); a newer
 * version of the same plan wins. A plan that arrives while the sync runs is not in
 * `changed` yet, so it waits for the next sync.
 */
export function takeChangedPlans(
  carried: ReadonlyMap<string, ServiceNatPlan> | undefined,
  changed: ReadonlyMap<string, ServiceNatPlan>,
): Map<string, ServiceNatPlan> {
  const taken = new Map(carried ?? []);
  for (const [key, plan] of changed) taken.set(key, plan);
  return taken;
}

/** What the sync came to, as the shell found it. */
export type SyncStep =
  /** This node has no NodeNatPlan yet (or it went away): nothing to enforce or report. */
  | { kind: 'noPlan' }
  /** No backend could be set up (neither nft nor iptables works). */
  | { kind: 'noBackend'; message: string }
  /** The applier ran; `result` is what it returned. */
  | { kind: 'applied'; backend: Backend; result: ApplyResult };

export interface SyncContext {
  /** metadata.generation of this node's NodeNatPlan. */
  generation: number | undefined;
  /** Problems of the input (invalid plans left out); reported even when the sync succeeds. */
  problems: readonly string[];
  /** Wall-clock time for the report. */
  nowMs: number;
  /** How long the sync ran (used when the applier did not time it). */
  durationMs: number;
}

export interface SyncDecision {
  /** Whether the sync loop counts it as done (false: retried with backoff). */
  ok: boolean;
  /** For the enforcement watchdog: why the changes are not enforced. */
  failure?: string;
  mode?: ApplyMode;
  /** The status to publish; none before this node has a plan. */
  report?: SyncReport;
  /** Label set of natplan_sync_failures_total, when the sync failed. */
  failureMetric?: { backend: SyncReport['backend']; kind: string };
  /** The sync committed but the kernel did not confirm it (the next one is full). */
  kernelUnconfirmed: boolean;
  /**
   * The rules hold the changed plans the sync took: their latency is observed and they are
   * forgotten; otherwise the next sync takes them again.
   */
  programmed: boolean;
}

/** The longest message a status condition carries for invalid plans. */
const MAX_PROBLEM_MESSAGE = 4000;

export function decideSync(step: SyncStep, context: SyncContext): SyncDecision {
  const { generation, nowMs } = context;
  if (step.kind === 'noPlan') return { ok: true, kernelUnconfirmed: false, programmed: false };
  if (step.kind === 'noBackend') {
    return {
      ok: false, failure: step.message, kernelUnconfirmed: false, programmed: false,
      failureMetric: { backend: 'none', kind: 'NoBackend' },
      report: { backend: 'none', generation, ok: false, problem: { reason: 'NoBackend', message: step.message }, counts: {}, digest: undefined, syncedAt: nowMs, durationMs: context.durationMs },
    };
  }
  const { backend, result } = step;
  if (!result.ok) {
    return {
      ok: false, failure: result.reason, mode: result.mode, kernelUnconfirmed: false, programmed: false,
      // A tool error carries its class; a renderer exception has none.
      failureMetric: { backend, kind: 'kind' in result.error ? String(result.error.kind) : 'render' },
      report: { backend, generation, ok: false, problem: { reason: 'ApplyFailed', message: result.reason }, counts: {}, digest: undefined, syncedAt: nowMs, durationMs: result.durationMs },
    };
  }
  const invalid = context.problems.length > 0 ? { reason: 'InvalidPlan', message: context.problems.join('\n').slice(0, MAX_PROBLEM_MESSAGE) } : undefined;
  const base: SyncReport = { backend, generation, ok: true, problem: invalid, counts: result.counts, digest: result.digest, syncedAt: nowMs, durationMs: result.durationMs, kernel: result.kernel };
  if (!result.kernel.confirmed) {
    // Committed, but nothing may be reported as enforced: the status says so (statusFor
    // reads `kernel`) and the loop retries.
    return { ok: false, failure: result.kernel.problem, mode: result.mode, kernelUnconfirmed: true, programmed: false, report: base };
  }
  return {
    ok: true, mode: result.mode, kernelUnconfirmed: false, programmed: true,
    report: result.driftRepaired ? { ...base, driftRepaired: result.driftRepaired } : base,
  };
}

/**
 * Network programming latency of each programmed plan: trigger time -> now (kube-proxy's
 * definition). The first sync programs everything there is, so it observes none; a plan
 * without a trigger time, or one from the future (clock skew), is left out.
 */
export function programmingLatencies(plans: ReadonlyMap<string, ServiceNatPlan>, nowMs: number, firstSync: boolean): number[] {
  if (firstSync) return [];
  const seconds: number[] = [];
  for (const plan of plans.values()) {
    if (!plan.spec.triggerTime) continue;
    const latency = (nowMs - Date.parse(plan.spec.triggerTime)) / 1000;
    if (latency >= 0) seconds.push(latency);
  }
  return seconds;
}

/** The sync loop's retry policy unless given: 1 s doubling up to 30 s. */
export const DEFAULT_SYNC_RETRY: BackoffOptions = { baseMs: 1000, maxMs: 30_000 };

/**
 * After a sync: a success resets the failure count; a failure schedules a retry with
 * exponential backoff over the consecutive failures so far. `random` spreads the
 * retry's jitter, if `retry` has any (backoffDelay).
 */
export function afterSyncAttempt(ok: boolean, failures: number, retry: BackoffOptions = DEFAULT_SYNC_RETRY, random: () => number = () => 0): { failures: number; retryInMs?: number } {
  if (ok) return { failures: 0 };
  return { failures: failures + 1, retryInMs: backoffDelay(retry, failures, random) };
}

/**
 * Sync pacing as kube-proxy's BoundedFrequencyRunner does it (minSyncPeriod with
 * burstSyncs = 2): a token bucket of `burst` syncs that refills one sync per
 * `minPeriodMs`. A change after a quiet period syncs at once, even right after another
 * sync (the cold start's follow-up, a resync); only a burst of changes is paced to one
 * sync per period. `tokens` is what the bucket held at `atMs`.
 */
export interface SyncPacing { tokens: number; atMs: number }

/** kube-proxy's burstSyncs. */
export const SYNC_BURST = 2;

/** A full bucket: the first syncs start at once. */
export const newSyncPacing = (burst = SYNC_BURST): SyncPacing => ({ tokens: burst, atMs: Number.NEGATIVE_INFINITY });

function tokensAt(pacing: SyncPacing, minPeriodMs: number, burst: number, nowMs: number): number {
  if (pacing.atMs === Number.NEGATIVE_INFINITY) return burst;
  return Math.min(burst, pacing.tokens + Math.max(0, nowMs - pacing.atMs) / minPeriodMs);
}

/** How long a requested sync waits for a token (0: now). */
export function waitBeforeSync(pacing: SyncPacing, minPeriodMs: number, nowMs: number, burst = SYNC_BURST): number {
  if (minPeriodMs <= 0) return 0;
  const tokens = tokensAt(pacing, minPeriodMs, burst, nowMs);
  return tokens >= 1 ? 0 : Math.ceil((1 - tokens) * minPeriodMs);
}

/** The bucket after a sync started at `nowMs` (which waited for its token first). */
export function syncStarted(pacing: SyncPacing, minPeriodMs: number, nowMs: number, burst = SYNC_BURST): SyncPacing {
  if (minPeriodMs <= 0) return pacing;
  return { tokens: Math.max(0, tokensAt(pacing, minPeriodMs, burst, nowMs) - 1), atMs: nowMs };
}
