/**
 * Runs syncs one at a time: requests arriving during a sync, or while the sync pacing
 * waits, coalesce into one sync (kube-proxy's BoundedFrequencyRunner: a burst of two,
 * then one sync per minimum period; sync-decision.ts); a failed sync is retried with
 * exponential backoff.
 */
import type { BackoffOptions } from '@natplan/controller-kit';
import { afterSyncAttempt, newSyncPacing, syncStarted, waitBeforeSync, type SyncPacing } from './sync-decision.js';

export interface SyncLoopOptions {
  /** Returns whether the sync succeeded. */
  sync: () => Promise<boolean>;
  minPeriodMs: number;
  retry?: BackoffOptions;
  now?: () => number;
}

export class SyncLoop {
  private pending = false;
  private stopped = false;
  private wake: (() => void) | undefined;
  private pacing: SyncPacing = newSyncPacing();
  private failures = 0;
  private retryTimer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private readonly now: () => number;
  /** Resolvers waiting for the next completed sync (tests and `syncNow`). */
  private waiters: Array<(ok: boolean) => void> = [];

  constructor(private readonly options: SyncLoopOptions) {
    this.now = options.now ?? (() => performance.now());
  }

  request(): void {
    this.pending = true;
    this.wake?.();
  }

  /** Requests a sync and resolves with its outcome. */
  syncNow(): Promise<boolean> {
    const done = new Promise<boolean>((resolve) => this.waiters.push(resolve));
    this.request();
    return done;
  }

  start(): void {
    this.running ??= this.loop();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.retryTimer);
    this.wake?.();
    await this.running;
    for (const w of this.waiters.splice(0)) w(false);
  }

  private async loop(): Promise<void> {
    while (!this.stopped) {
      if (!this.pending) await new Promise<void>((resolve) => { this.wake = resolve; });
      this.wake = undefined;
      if (this.stopped) break;
      const wait = waitBeforeSync(this.pacing, this.options.minPeriodMs, this.now());
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      if (this.stopped) break;
      this.pending = false;
      this.pacing = syncStarted(this.pacing, this.options.minPeriodMs, this.now());
      const waiters = this.waiters.splice(0);
      const ok = await this.options.sync().catch(() => false);
      for (const w of waiters) w(ok);
      const next = afterSyncAttempt(ok, this.failures, this.options.retry, Math.random);
      this.failures = next.failures;
      if (next.retryInMs !== undefined) {
        clearTimeout(this.retryTimer);
        this.retryTimer = setTimeout(() => this.request(), next.retryInMs);
      }
    }
  }
}
