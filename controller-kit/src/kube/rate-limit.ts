import { systemClock, type Clock } from '../clock.js';
import type { ApiRequest, Requester } from './request.js';

/**
 * Client-side rate limiting of API writes (client-go's QPS and burst): a token bucket
 * holding up to `burst` tokens, refilled at `qps` per second. A request that finds no
 * token reserves the next one and waits for it, so waiting requests leave in order and
 * the long-run rate never exceeds `qps`, however many workers write at once.
 *
 * A 429 with Retry-After pauses the whole bucket until then: the server said it is
 * overloaded, so no worker should write before the time it named (the failed key itself
 * is retried by the queue no sooner than Retry-After, see kube/api-errors.ts).
 */
export interface RateLimitOptions {
  /** Sustained requests per second; 0 or less disables limiting. */
  qps: number;
  /** Requests allowed at once after a quiet period (the bucket's size); at least 1. */
  burst: number;
  clock?: Clock;
}

/** Longest pause a Retry-After may impose on every writer, as for the per-key retry. */
const MAX_PAUSE_MS = 5 * 60_000;

export class TokenBucket {
  private readonly clock: Clock;
  private readonly burst: number;
  private tokens: number;
  private last: number;
  private pausedUntil = 0;

  constructor(private readonly options: RateLimitOptions) {
    this.clock = options.clock ?? systemClock;
    this.burst = Math.max(1, options.burst);
    this.tokens = this.burst;
    this.last = this.clock.now();
  }

  /** Milliseconds the next `take` would wait if called now (0: a token is free). */
  delayMs(): number {
    if (this.options.qps <= 0) return 0;
    const now = this.clock.now();
    const tokens = Math.min(this.burst, this.tokens + ((now - this.last) * this.options.qps) / 1000);
    return Math.max(tokens >= 1 ? 0 : ((1 - tokens) * 1000) / this.options.qps, this.pausedUntil - now);
  }

  /** Resolves when the caller may send one request. */
  take(): Promise<void> {
    if (this.options.qps <= 0) return Promise.resolve();
    const now = this.clock.now();
    this.tokens = Math.min(this.burst, this.tokens + ((now - this.last) * this.options.qps) / 1000);
    this.last = now;
    this.tokens -= 1; // reserved now, even if it is only there later: later callers queue behind
    const waitMs = Math.max(this.tokens < 0 ? (-this.tokens * 1000) / this.options.qps : 0, this.pausedUntil - now);
    if (waitMs <= 0) return Promise.resolve();
    return new Promise((resolve) => this.clock.setTimer(resolve, waitMs));
  }

  /** Holds every request until `ms` from now (a server's Retry-After); a longer pause in force is kept. */
  pauseFor(ms: number): void {
    this.pausedUntil = Math.max(this.pausedUntil, this.clock.now() + Math.min(ms, MAX_PAUSE_MS));
  }
}

const isWrite = (request: ApiRequest): boolean => request.method !== 'GET';

/**
 * `requester` with writes (every method but GET) limited by `bucket`. Reads are not:
 * the operator's reads are lists and watches made once per term, and a watch held open
 * must never wait behind a burst of writes.
 */
export function rateLimitedRequester(requester: Requester, bucket: TokenBucket): Requester {
  return async (request) => {
    if (isWrite(request)) await bucket.take();
    const response = await requester(request);
    if (response.statusCode === 429) bucket.pauseFor((response.retryAfterSeconds ?? 1) * 1000);
    return response;
  };
}
