import { KeyedBackoff, type BackoffOptions } from './backoff.js';
import { systemClock, type Clock } from './clock.js';

/**
 * A keyed work queue with client-go's guarantees:
 * - coalescing: a key added many times while it waits is processed once;
 * - exclusivity: a key handed to a worker is not handed to another until `done(key)`;
 *   if it is added again meanwhile, it is queued again when `done` is called;
 * - delayed adds (`addAfter`) keep only the earliest pending time per key;
 * - rate-limited retries: `addRateLimited` waits the key's exponential backoff,
 *   `forget` resets it after a success.
 * Keys are strings so they can be logged and used as map keys as they are.
 */
export interface WorkQueueOptions {
  clock?: Clock;
  /** Observes how long each key waited between being queued and handed to a worker (queue latency metric). */
  onWait?: (key: string, waitedMs: number) => void;
  /** Observes each rate-limited retry. */
  onRetry?: (key: string) => void;
  /** Per-key retry backoff; 5 ms doubling up to 5 minutes unless given (client-go's default is 5 ms to 1000 s). */
  backoff?: BackoffOptions;
}

export const DEFAULT_RETRY_BACKOFF: BackoffOptions = { baseMs: 5, maxMs: 5 * 60_000 };

export class WorkQueue {
  private readonly clock: Clock;
  private readonly backoff: KeyedBackoff<string>;
  private readonly queue: string[] = [];
  private readonly dirty = new Set<string>();
  private readonly processing = new Set<string>();
  /** Keys waiting for a delayed add: when they become ready and how to cancel the timer. */
  private readonly waiting = new Map<string, { at: number; cancel: () => void }>();
  private readonly getters: Array<(key: string | undefined) => void> = [];
  private readonly idleWaiters: Array<() => void> = [];
  /** When each queued key entered the queue, for onWait. */
  private readonly queuedAt = new Map<string, number>();
  private shuttingDown = false;

  constructor(private readonly options: WorkQueueOptions = {}) {
    this.clock = options.clock ?? systemClock;
    this.backoff = new KeyedBackoff(options.backoff ?? DEFAULT_RETRY_BACKOFF, Math.random);
  }

  /** Queues `key` unless it is already queued; ignored after shutdown. */
  add(key: string): void {
    if (this.shuttingDown || this.dirty.has(key)) return;
    this.dirty.add(key);
    if (this.processing.has(key)) return; // re-queued by done()
    this.push(key);
  }

  /** Queues `key` after `delayMs`; an earlier pending add of the same key wins. */
  addAfter(key: string, delayMs: number): void {
    if (this.shuttingDown) return;
    if (delayMs <= 0) return this.add(key);
    const at = this.clock.now() + delayMs;
    const pending = this.waiting.get(key);
    if (pending && pending.at <= at) return;
    pending?.cancel();
    const cancel = this.clock.setTimer(() => {
      this.waiting.delete(key);
      this.add(key);
    }, delayMs);
    this.waiting.set(key, { at, cancel });
  }

  /**
   * Queues `key` after its exponential backoff, or after `atLeastMs` when that is longer
   * (a server's Retry-After), and counts one more failure for it.
   */
  addRateLimited(key: string, atLeastMs = 0): void {
    this.options.onRetry?.(key);
    this.addAfter(key, Math.max(atLeastMs, this.backoff.next(key)));
  }

  /** Resets the failure count of `key` (call when it was processed successfully). */
  forget(key: string): void {
    this.backoff.forget(key);
  }

  /** Failures counted for `key` since it last succeeded. */
  numRequeues(key: string): number {
    return this.backoff.failuresOf(key);
  }

  /**
   * Waits for the next key and marks it processing. Resolves `undefined` once the queue
   * is shut down: workers should exit then.
   */
  get(): Promise<string | undefined> {
    if (this.shuttingDown) return Promise.resolve(undefined);
    const key = this.queue.shift();
    if (key !== undefined) return Promise.resolve(this.take(key));
    return new Promise((resolve) => this.getters.push(resolve));
  }

  /** Marks `key` finished; if it was added while processing, it is queued again. */
  done(key: string): void {
    this.processing.delete(key);
    if (this.dirty.has(key) && !this.shuttingDown) this.push(key);
    if (this.processing.size === 0) this.idleWaiters.splice(0).forEach((wake) => wake());
  }

  /** Keys waiting to be processed (not counting delayed or in-flight keys): the queue depth metric. */
  len(): number {
    return this.queue.length;
  }

  /** Keys handed to workers and not done yet. */
  inFlight(): number {
    return this.processing.size;
  }

  /** Keys scheduled by `addAfter`/`addRateLimited` that are not due yet. */
  delayed(): number {
    return this.waiting.size;
  }

  isShuttingDown(): boolean {
    return this.shuttingDown;
  }

  /**
   * Stops the queue: new adds are ignored, queued and delayed keys are dropped, waiting
   * workers get `undefined`. With `drain`, resolves once in-flight keys are done.
   */
  async shutdown(options: { drain?: boolean } = {}): Promise<void> {
    this.shuttingDown = true;
    for (const { cancel } of this.waiting.values()) cancel();
    this.waiting.clear();
    this.queue.length = 0;
    this.queuedAt.clear();
    this.getters.splice(0).forEach((resolve) => resolve(undefined));
    if (options.drain && this.processing.size > 0) {
      await new Promise<void>((resolve) => this.idleWaiters.push(resolve));
    }
  }

  private push(key: string): void {
    this.queuedAt.set(key, this.clock.now());
    const getter = this.getters.shift();
    if (getter) getter(this.take(key));
    else this.queue.push(key);
  }

  private take(key: string): string {
    const queuedAt = this.queuedAt.get(key);
    this.queuedAt.delete(key);
    if (queuedAt !== undefined) this.options.onWait?.(key, this.clock.now() - queuedAt);
    this.dirty.delete(key);
    this.processing.add(key);
    return key;
  }
}
