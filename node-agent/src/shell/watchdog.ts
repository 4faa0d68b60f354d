/**
 * The enforcement watchdog (issue 8, finding 4: a Service change stayed unenforced for
 * minutes while the status said Ready and not Degraded). It measures how long the oldest
 * desired change (a plan event) has waited for a sync that the kernel confirmed, whatever
 * the reason: a sync that hangs, fails again and again, or never starts. Past the bound
 * it reports a stall, which the agent turns into Degraded=EnforcementStalled and a metric.
 * Pure bookkeeping with an injected clock; the agent calls it and polls `stall()`.
 */
export class EnforcementWatchdog {
  /** When the oldest change not yet enforced arrived. */
  private pendingSince: number | undefined;
  /** The first change that arrived while the running sync was under way (it may miss it). */
  private arrivedDuringSync: number | undefined;
  private syncStartedAt: number | undefined;
  private lastFailure: string | undefined;

  constructor(private readonly boundMs: number, private readonly now: () => number) {}

  /** A desired change arrived (a plan was added, updated or deleted). */
  changed(): void {
    const at = this.now();
    this.pendingSince ??= at;
    if (this.syncStartedAt !== undefined) this.arrivedDuringSync ??= at;
  }

  syncStarted(): void {
    this.syncStartedAt = this.now();
    this.arrivedDuringSync = undefined;
  }

  /** `enforced`: the sync succeeded and the kernel confirmed it; otherwise `failure` says why not. */
  syncFinished(enforced: boolean, failure?: string): void {
    this.syncStartedAt = undefined;
    if (enforced) {
      // Changes that arrived during the sync may have been read after it rendered.
      this.pendingSince = this.arrivedDuringSync;
      this.lastFailure = undefined;
    } else {
      this.lastFailure = failure;
    }
    this.arrivedDuringSync = undefined;
  }

  /** How long the oldest unenforced change has waited (0 when none). */
  pendingMs(): number {
    return this.pendingSince === undefined ? 0 : this.now() - this.pendingSince;
  }

  /** Why enforcement is late, or undefined while within the bound. */
  stall(): string | undefined {
    const waited = this.pendingMs();
    if (this.pendingSince === undefined || waited <= this.boundMs) return undefined;
    const seconds = (ms: number) => `${Math.round(ms / 1000)} s`;
    const why = this.syncStartedAt !== undefined
      ? `a sync has been running for ${seconds(this.now() - this.syncStartedAt)}`
      : this.lastFailure ? `the last sync was not enforced: ${this.lastFailure}` : 'no sync has enforced it yet';
    return `plan changes have waited ${seconds(waited)} to be enforced (bound ${seconds(this.boundMs)}); ${why}`;
  }
}
