import { sleep, systemClock, type Clock } from './clock.js';
import type { Logger } from './controller.js';
import { silentLogger } from './controller.js';
import type { LeaseRecord, LeaseStore } from './kube/lease-store.js';
import { formatMicroTime } from './kube/microtime.js';
import { isConflict } from './kube/request.js';

export interface LeaderElectionOptions {
  lease: LeaseStore;
  /** Unique per candidate (pod name plus a random suffix is usual). */
  identity: string;
  /** How long a lease holds without renewal before others may take it; 15 s unless given. */
  leaseDurationMs?: number;
  /** The leader gives up if it cannot renew for this long; 10 s unless given. Must be < leaseDuration. */
  renewDeadlineMs?: number;
  /** Pause between acquire or renew attempts; 2 s unless given. */
  retryPeriodMs?: number;
  /**
   * Called once leadership is won; `signal` aborts when it is lost or the elector stops
   * (it may already be aborted when a term ended at once). `LeaderTerms.begin` fits here.
   */
  onStartedLeading: (signal: AbortSignal) => void | Promise<void>;
  /** Called when leadership ends (lost, or released by stop). Many programs exit here. */
  onStoppedLeading?: () => void;
  /** Called when the observed holder changes (including to this candidate). */
  onNewLeader?: (identity: string) => void;
  clock?: Clock;
  logger?: Logger;
}

/**
 * Leader election on a coordination.k8s.io Lease, with client-go's rules:
 * - a candidate takes the lease when it is free, or when its holder has not renewed it
 *   for leaseDurationSeconds, measured on the candidate's own clock from the moment it
 *   last saw the record change (so clock skew between nodes does not matter);
 * - the leader renews every retryPeriod and steps down when renewals have failed for
 *   renewDeadline, before others may take over (leaseDuration);
 * - every write is a compare-and-swap on resourceVersion, so two candidates never both win;
 * - stop() releases the lease (empty holder) so a successor need not wait for expiry.
 * After losing leadership the elector becomes a candidate again.
 */
export class LeaderElector {
  private readonly clock: Clock;
  private readonly logger: Logger;
  private readonly leaseDurationMs: number;
  private readonly renewDeadlineMs: number;
  private readonly retryPeriodMs: number;
  private readonly stopSignal = new AbortController();
  private running: Promise<void> | undefined;
  private leading: AbortController | undefined;
  /** The last record seen, its resourceVersion, and when (local clock) it last changed. */
  private observed: { record: LeaseRecord; resourceVersion: string; at: number } | undefined;

  constructor(private readonly options: LeaderElectionOptions) {
    this.clock = options.clock ?? systemClock;
    this.logger = options.logger ?? silentLogger;
    this.leaseDurationMs = options.leaseDurationMs ?? 15_000;
    this.renewDeadlineMs = options.renewDeadlineMs ?? 10_000;
    this.retryPeriodMs = options.retryPeriodMs ?? 2_000;
    if (this.renewDeadlineMs >= this.leaseDurationMs) throw new Error('renewDeadline must be shorter than leaseDuration');
  }

  isLeader(): boolean {
    return this.leading !== undefined;
  }

  /** The holder last observed, if any. */
  leader(): string | undefined {
    return this.observed?.record.holderIdentity || undefined;
  }

  start(): void {
    this.running ??= this.run();
  }

  /**
   * Stops competing. With `release` (the default) a leader clears the holder so another
   * candidate takes over at its next retry; without it, the lease just expires (a crash).
   */
  async stop(options: { release?: boolean } = {}): Promise<void> {
    this.stopSignal.abort();
    await this.running;
    if (this.leading) {
      if (options.release ?? true) await this.release();
      this.stepDown();
    }
  }

  private get stopped(): boolean {
    return this.stopSignal.signal.aborted;
  }

  private async run(): Promise<void> {
    while (!this.stopped) {
      if (!(await this.withinDeadline(this.tryAcquireOrRenew(), Infinity))) {
        await sleep(this.clock, this.retryPeriodMs * (1 + 0.2 * Math.random()), this.stopSignal.signal);
        continue;
      }
      // This term's own controller: if the term ends before the callback runs, the callback
      // gets an already-aborted signal (never the next term's, never undefined).
      const term = new AbortController();
      this.leading = term;
      this.logger.info('became leader', { lease: this.options.lease.description, identity: this.options.identity });
      void Promise.resolve()
        .then(() => this.options.onStartedLeading(term.signal))
        .catch((err: unknown) => this.logger.error('onStartedLeading failed', { error: String(err) }));
      await this.renewLoop();
      if (this.stopped) return; // stop() releases and steps down
      this.logger.error('lost leadership', { lease: this.options.lease.description, identity: this.options.identity });
      this.stepDown();
    }
  }

  /** Renews every retryPeriod; returns when renewal failed for renewDeadline, or on stop. */
  private async renewLoop(): Promise<void> {
    let lastRenew = this.clock.now();
    while (!this.stopped) {
      await sleep(this.clock, this.retryPeriodMs, this.stopSignal.signal);
      if (this.stopped) return;
      // A hung request must not outlive the deadline: past it, others may already lead.
      const renewed = await this.withinDeadline(this.tryAcquireOrRenew(), lastRenew + this.renewDeadlineMs);
      if (renewed) {
        lastRenew = this.clock.now();
      } else if (this.clock.now() - lastRenew >= this.renewDeadlineMs || this.leader() !== this.options.identity) {
        return; // gone stale, or someone else holds it now
      }
    }
  }

  /** Resolves the attempt's result, or false once the clock reaches `deadline` or stop() is called. */
  private withinDeadline(attempt: Promise<boolean>, deadline: number): Promise<boolean> {
    return new Promise((resolve) => {
      const signal = this.stopSignal.signal;
      const onStop = () => settle(false);
      const cancel = Number.isFinite(deadline) ? this.clock.setTimer(onStop, deadline - this.clock.now()) : () => {};
      const settle = (ok: boolean) => {
        cancel();
        signal.removeEventListener('abort', onStop);
        resolve(ok);
      };
      if (signal.aborted) return settle(false);
      signal.addEventListener('abort', onStop, { once: true });
      void attempt.then(settle);
    });
  }

  private stepDown(): void {
    this.leading?.abort();
    this.leading = undefined;
    this.options.onStoppedLeading?.();
  }

  /** One compare-and-swap attempt; true when this candidate holds the lease afterwards. */
  private async tryAcquireOrRenew(): Promise<boolean> {
    const { lease, identity } = this.options;
    const now = this.clock.now();
    const nowText = formatMicroTime(now);
    const fresh: LeaseRecord = {
      holderIdentity: identity,
      leaseDurationSeconds: Math.ceil(this.leaseDurationMs / 1000),
      acquireTime: nowText,
      renewTime: nowText,
      leaseTransitions: 0,
    };
    try {
      const current = await lease.get();
      if (!current) {
        this.observe(fresh, await lease.create(fresh));
        return true;
      }
      this.observe(current.record, current.resourceVersion);
      const holder = current.record.holderIdentity;
      const mine = holder === identity;
      const expiresAt = this.observed!.at + current.record.leaseDurationSeconds * 1000;
      if (holder && !mine && now < expiresAt) return false;
      const next: LeaseRecord = mine
        ? { ...fresh, acquireTime: current.record.acquireTime ?? nowText, leaseTransitions: current.record.leaseTransitions }
        : { ...fresh, leaseTransitions: current.record.leaseTransitions + 1 };
      this.observe(next, await lease.update(next, current.resourceVersion));
      return true;
    } catch (err) {
      // 409: another candidate created or updated the Lease first. That is the election
      // working (compare-and-swap), not a failure; the next attempt reads the winner.
      if (isConflict(err)) this.logger.info('lease taken by another candidate first', { lease: lease.description });
      else this.logger.error('lease acquire/renew failed', { lease: lease.description, error: String(err) });
      return false;
    }
  }

  private observe(record: LeaseRecord, resourceVersion: string): void {
    const previous = this.observed;
    if (previous?.resourceVersion === resourceVersion) return;
    this.observed = { record, resourceVersion, at: this.clock.now() };
    if (record.holderIdentity && record.holderIdentity !== previous?.record.holderIdentity) {
      this.options.onNewLeader?.(record.holderIdentity);
    }
  }

  private async release(): Promise<void> {
    const { lease, identity } = this.options;
    const observed = this.observed;
    if (!observed || observed.record.holderIdentity !== identity) return;
    const released = (record: LeaseRecord): LeaseRecord => {
      const nowText = formatMicroTime(this.clock.now());
      return { leaseDurationSeconds: 1, acquireTime: nowText, renewTime: nowText, leaseTransitions: record.leaseTransitions };
    };
    try {
      try {
        await lease.update(released(observed.record), observed.resourceVersion);
      } catch (err) {
        // A renewal that stop() cut short may still have landed and moved the
        // resourceVersion on: re-read once, and release what is there if it is still ours.
        if (!isConflict(err)) throw err;
        const current = await lease.get();
        if (current?.record.holderIdentity !== identity) return;
        await lease.update(released(current.record), current.resourceVersion);
      }
      this.logger.info('released lease', { lease: lease.description, identity });
    } catch (err) {
      this.logger.error('lease release failed; successor waits for expiry', { error: String(err) });
    }
  }
}
