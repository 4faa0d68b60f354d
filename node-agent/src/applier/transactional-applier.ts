import { performance } from 'node:perf_hooks';
import { isExecError } from '../exec/index.js';
import type { Backend, Exec, ExecError } from '../exec/index.js';
import { StaleUdpCleaner } from './conntrack.js';
import { afterSync, fullSyncReason, type FullSyncState } from './full-sync.js';
import { DEFAULT_FULL_SYNC_INTERVAL_MS } from './types.js';
import type { Applier, ApplierOptions, ApplyMode, ApplyResult, KernelCheck, RulesetPort } from './types.js';

/**
 * The sync bookkeeping both backends share (STYLE.md, "only emit what changed"): the
 * committed ruleset kept in memory, "next sync is full" after a start, a failure or the
 * repair interval, one sync at a time, conntrack hygiene after each commit. A backend
 * only says how to commit a full or an incremental change.
 */
export abstract class TransactionalApplier<I, R> implements Applier<I> {
  abstract readonly backend: Backend;
  /** The ruleset the kernel holds as far as we know; null before the first commit. */
  private committed: R | null = null;
  /** When the next sync must be full (full-sync.ts decides from it). */
  private state: FullSyncState = { committed: false, requested: true, lastFullAtMs: Number.NEGATIVE_INFINITY, lastFullCostMs: 0 };
  private tail: Promise<unknown> = Promise.resolve();
  /** What an idle check (verifyKernel) found missing; reported by the full sync that repairs it. */
  private drift: string | undefined;
  protected readonly now: () => number;
  private readonly fullSyncIntervalMs: number;
  private readonly cleaner: StaleUdpCleaner;

  protected constructor(
    protected readonly exec: Exec,
    private readonly port: RulesetPort<I, R>,
    options: ApplierOptions,
  ) {
    this.now = options.now ?? (() => performance.now());
    this.fullSyncIntervalMs = options.fullSyncIntervalMs ?? DEFAULT_FULL_SYNC_INTERVAL_MS;
    this.cleaner = new StaleUdpCleaner(exec, options.conntrack);
  }

  /**
   * Commits `desired` as a full sync (the kernel may hold anything, including nothing or
   * a table from a previous agent) and returns the mode actually used. `previous` is the
   * last committed ruleset, null after a start.
   */
  protected abstract commitFull(desired: R, input: I, previous: R | null): Promise<ApplyMode>;

  /** Commits the difference from `committed`; returns 'unchanged' when there was none. */
  protected abstract commitIncremental(committed: R, desired: R, input: I): Promise<ApplyMode>;

  protected abstract removeAll(): Promise<void>;

  /**
   * True when an incremental commit fails unless the kernel still holds the last commit
   * (nftables: the transaction deletes the last commit's marker element), so it needs no
   * kernel check before it. False: every incremental sync checks first.
   */
  protected readonly incrementalCommitProvesBase: boolean = false;

  /**
   * Reads back whether the kernel still holds `committed`, the last commit. Its cost must
   * not grow with the number of Services: a commit marker, the static chains, a sample
   * element per static set. Never throws; a check that cannot run is not a confirmation.
   */
  protected abstract checkKernel(committed: R): Promise<KernelCheck>;

  apply(desired: I): Promise<ApplyResult> {
    const run = this.tail.then(() => this.sync(desired));
    this.tail = run.catch(() => undefined);
    return run;
  }

  requestFullSync(): void {
    this.state = { ...this.state, requested: true };
  }

  verifyKernel(): Promise<KernelCheck | undefined> {
    const run = this.tail.then(async () => {
      const committed = this.committed;
      if (committed === null || this.state.requested) return undefined;
      const check = await this.checkKernel(committed);
      if (!check.confirmed) {
        this.state = { ...this.state, requested: true };
        this.drift = check.problem;
      }
      return check;
    });
    this.tail = run.catch(() => undefined);
    return run;
  }

  async cleanup(): Promise<void> {
    const run = this.tail.then(() => this.removeAll());
    this.tail = run.catch(() => undefined);
    await run;
    this.committed = null;
    this.drift = undefined;
    this.state = { ...this.state, committed: false, requested: true };
  }

  private async sync(input: I): Promise<ApplyResult> {
    const started = this.now();
    const committed = this.committed;
    let full = fullSyncReason(this.state, started, this.fullSyncIntervalMs) !== undefined;
    let mode: ApplyMode = full ? 'full' : 'incremental';
    let desired: R;
    try {
      // A renderer exception is a bug or a plan it cannot express; nothing reached the
      // kernel, so the previous rules stay (the renderer says if it needs a full sync).
      desired = this.port.render(input);
    } catch (error) {
      return this.failure(mode, started, error, 'RenderFailed');
    }
    const rendered = this.now();
    if (!full && fullSyncReason(this.state, started, this.fullSyncIntervalMs, this.port.needsFullSync?.(desired)) !== undefined) {
      full = true;
      mode = 'full';
    }
    // An incremental sync is a diff against what we committed: only valid if the kernel
    // still holds it (issue 8, finding 3: after `nft flush table`, diffs "succeeded"
    // against our memory while nothing was enforced). A backend whose incremental commit
    // proves that itself (incrementalCommitProvesBase) is not checked first: a failed
    // commit, or the check after it, tells drift apart, and drift is repaired in full
    // within this sync, as a check before it would have (issue 13: one nft run less).
    let driftRepaired = full ? this.drift : undefined;
    let before: KernelCheck | undefined;
    if (!full && committed !== null && !this.incrementalCommitProvesBase) {
      before = await this.checkKernel(committed);
      if (!before.confirmed) {
        driftRepaired = before.problem;
        full = true;
        mode = 'full';
      }
    }
    const checkedBefore = this.now();
    let checkMs = 0;
    const check = async (ruleset: R): Promise<KernelCheck> => {
      const at = this.now();
      const result = await this.checkKernel(ruleset);
      checkMs += this.now() - at;
      return result;
    };
    /** Turns this sync into a full one that repairs `problem`. */
    const repair = async (problem: string): Promise<void> => {
      driftRepaired = problem;
      full = true;
      mode = 'full';
      mode = await this.commitFull(desired, input, committed);
    };
    try {
      if (committed === null || full) mode = await this.commitFull(desired, input, committed);
      else {
        try {
          mode = await this.commitIncremental(committed, desired, input);
        } catch (error) {
          if (before) throw error;
          // Refused because the kernel lost the last commit, or refused as such? The check tells.
          const lost = await check(committed);
          if (lost.confirmed) throw error;
          await repair(lost.problem);
        }
      }
    } catch (error) {
      // The transaction rolled back (or, for a split cold start, part of it landed).
      this.state = afterSync(this.state, { kind: 'commitFailed' });
      const failed = this.failure(mode, started, error, 'ApplyFailed');
      return driftRepaired && !failed.ok ? { ...failed, reason: `${failed.reason} (repairing drift: ${driftRepaired})` } : failed;
    }
    this.committed = desired;
    // Status must be true of the kernel: read back what was just committed.
    // Nothing committed: the check just made is the confirmation.
    let kernel = mode === 'unchanged' && before?.confirmed ? before : await check(desired);
    if (!kernel.confirmed && !full && !before) {
      // Not checked before: what the kernel lost shows here (a static rule deleted, a
      // static map flushed under the diff); the full sync repairs it now.
      try {
        await repair(kernel.problem);
      } catch (error) {
        this.state = afterSync(this.state, { kind: 'commitFailed' });
        const failed = this.failure(mode, started, error, 'ApplyFailed');
        return failed.ok ? failed : { ...failed, reason: `${failed.reason} (repairing drift: ${kernel.problem})` };
      }
      kernel = await check(desired);
    }
    if (full) this.drift = undefined;
    const checkedAfter = this.now();
    const finishedAtMs = checkedAfter - checkMs;
    this.state = afterSync(this.state, { kind: 'committed', full, startedAtMs: started, finishedAtMs, kernelConfirmed: kernel.confirmed });
    const stale = committed === null ? [] : this.port.staleUdpEndpoints(committed, desired);
    this.port.committed?.(desired);
    const cleanup = await this.cleaner.clear(stale);
    const stagesMs = { render: rendered - started, checkBefore: checkedBefore - rendered, commit: checkedAfter - checkMs - checkedBefore, checkAfter: checkMs, conntrack: this.now() - checkedAfter };
    const port = this.port;
    let digest: string | undefined;
    return {
      ok: true,
      mode,
      durationMs: this.now() - started,
      // Lazy: the digest hashes the whole ruleset text (~0.3 s at 5k Services) and the
      // controller reads it only for its rate-limited status write.
      get digest(): string {
        digest ??= port.digest(desired);
        return digest;
      },
      counts: this.port.counts(desired),
      staleUdpCleared: stale,
      staleUdpFinished: cleanup.finished,
      conntrackErrors: cleanup.errors,
      kernel,
      stagesMs,
      ...(driftRepaired ? { driftRepaired } : {}),
    };
  }

  /** Resolves once every queued conntrack cleanup has run (tests, shutdown). */
  conntrackIdle(): Promise<void> {
    return this.cleaner.idle();
  }

  private failure(mode: ApplyMode, started: number, cause: unknown, prefix: string): ApplyResult {
    const error = cause instanceof Error ? cause : new Error(String(cause));
    return { ok: false, mode, durationMs: this.now() - started, error, reason: describeFailure(prefix, this.backend, error) };
  }
}

/** Degraded-condition text: which step, which backend, and the tool's first stderr lines. */
export function describeFailure(prefix: string, backend: Backend, error: Error | ExecError): string {
  if (!isExecError(error)) return `${prefix} (${backend}): ${error.message}`;
  const stderr = error.stderr.trim().split('\n').slice(0, 4).join(' | ');
  return `${prefix} (${backend}, ${error.kind}): ${stderr.slice(0, 500)}`;
}
