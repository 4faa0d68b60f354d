/**
 * Keeps one mapping alive: maps, renews at half the granted lifetime (RFC 6887 section
 * 11.2.1; RFC 6886 section 3.3 suggests the same), retries failed renewals at half the
 * remaining time, stops on a refusal that cannot heal, and deletes on release. A renewal
 * is the same request again, so a gateway that lost its state (a restart) re-creates the
 * mapping on the next renewal, or at once through `renewNow` when another answer's epoch
 * showed the loss (epoch.ts, wired in mappings.ts).
 */
import type { MappingExtras, PortMapper } from './client.js';
import type { Clock } from './exchange.js';
import { GatewayRefusal } from './types.js';
import type { GrantedMapping, MappingRequest } from './types.js';

export type LeaseEvent =
  | { readonly type: 'mapped'; readonly mapping: GrantedMapping; readonly renewal: number; readonly nextRenewalMs: number }
  | { readonly type: 'retrying'; readonly error: Error; readonly retryInMs: number }
  | { readonly type: 'refused'; readonly error: GatewayRefusal };

/** Never retry faster than this, whatever a short lifetime would suggest. */
export const MIN_RETRY_MS = 1000;
/** Retry after this when nothing better is known (no mapping yet, no error lifetime). */
export const DEFAULT_RETRY_MS = 30_000;

export class MappingLease {
  private cancelTimer: () => void = () => {};
  private mapping: GrantedMapping | undefined;
  private expiresAt = 0;
  private renewals = 0;
  private stopped = false;
  private inFlight: Promise<void> | undefined;
  private busy = false;

  constructor(
    private readonly mapper: PortMapper,
    private readonly clock: Clock,
    private readonly request: MappingRequest,
    private readonly onEvent: (event: LeaseEvent) => void,
    private readonly extras: MappingExtras = {},
  ) {}

  /** The mapping as last granted, while it has not expired. */
  current(): GrantedMapping | undefined {
    return this.mapping !== undefined && this.clock.now() < this.expiresAt ? this.mapping : undefined;
  }

  start(): void {
    this.stopped = false;
    this.schedule(0);
  }

  /**
   * Renews now instead of at the scheduled time: the gateway lost its state (RFC 6887
   * section 8.5 says to renew every mapping at once). Nothing when stopped or already asking.
   */
  renewNow(): void {
    if (this.stopped || this.busy) return;
    this.schedule(0);
  }

  /** Stops renewing and leaves the mapping to expire (or to the next agent's renewal). */
  stop(): void {
    this.stopped = true;
    this.cancelTimer();
  }

  /** Stops renewing and deletes the mapping at the gateway (best effort: errors propagate). */
  async release(): Promise<void> {
    this.stopped = true;
    this.cancelTimer();
    await this.inFlight;
    this.mapping = undefined;
    await this.mapper.unmap({ protocol: this.request.protocol, internalPort: this.request.internalPort });
  }

  private schedule(ms: number): void {
    this.cancelTimer();
    this.cancelTimer = this.clock.setTimer(ms, () => { this.inFlight = this.renew(); });
  }

  private async renew(): Promise<void> {
    if (this.stopped) return;
    this.busy = true;
    try {
      await this.attempt();
    } finally {
      this.busy = false;
    }
  }

  private async attempt(): Promise<void> {
    try {
      const mapping = await this.mapper.map(this.request, this.extras);
      if (this.stopped) return;
      this.mapping = mapping;
      this.expiresAt = this.clock.now() + mapping.lifetimeSeconds * 1000;
      const nextRenewalMs = Math.max(MIN_RETRY_MS, (mapping.lifetimeSeconds * 1000) / 2);
      this.onEvent({ type: 'mapped', mapping, renewal: this.renewals, nextRenewalMs });
      this.renewals += 1;
      this.schedule(nextRenewalMs);
    } catch (error) {
      if (this.stopped) return;
      if (error instanceof GatewayRefusal && !error.transient) {
        this.mapping = undefined;
        this.onEvent({ type: 'refused', error });
        return;
      }
      const retryInMs = this.retryDelay(error);
      this.onEvent({ type: 'retrying', error: error instanceof Error ? error : new Error(String(error)), retryInMs });
      this.schedule(retryInMs);
    }
  }

  private retryDelay(error: unknown): number {
    const remaining = this.expiresAt - this.clock.now();
    if (remaining > 0) return Math.max(MIN_RETRY_MS, remaining / 2);
    if (error instanceof GatewayRefusal && error.retryAfterSeconds > 0) return error.retryAfterSeconds * 1000;
    return DEFAULT_RETRY_MS;
  }
}
