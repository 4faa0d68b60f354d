import { systemClock, type Clock } from './clock.js';
import { PermanentError, TemporaryError, classifyError } from './errors.js';
import { typedApiError } from './kube/api-errors.js';
import type { ControllerMetrics } from './metrics.js';
import { WorkQueue } from './workqueue.js';

/** What a reconcile may ask for besides success: to run again after a delay. */
export interface Result {
  /** Run again after this delay (polling something that has no watch event). */
  requeueAfterMs?: number;
  /** Run again after the key's backoff, without counting an error (waiting on something to settle). */
  requeue?: boolean;
}

/** Minimal structured logger; pass a pino-like or console-backed object. */
export interface Logger {
  info(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
}

export const silentLogger: Logger = { info: () => {}, error: () => {} };

export interface ControllerOptions {
  /** Names the controller in logs and metric labels. */
  name: string;
  /**
   * Level-based: given only the key, recompute and write the whole desired state.
   * Throw `TemporaryError` to retry, `PermanentError` to stop retrying; an `ApiError`
   * thrown as it is gets classified by status code (`typedApiError`).
   */
  reconcile: (key: string) => Promise<Result | void>;
  /** A queue shared with other code; one is made (with wait and retry metrics) unless given. */
  queue?: WorkQueue;
  /** Workers run in parallel on distinct keys; 1 unless given. */
  concurrency?: number;
  /**
   * Called when reconcile throws `PermanentError` (or an API refusal typed as one), so the
   * caller can report it where users look (status, an Event). The key is not retried
   * until something adds it again: a change of the object or of its inputs.
   */
  onPermanentError?: (key: string, err: PermanentError) => void | Promise<void>;
  /**
   * Called after a temporary (or unknown) error was scheduled for retry, with the number
   * of failures in a row for the key: a caller can report a failure that keeps coming back
   * (a 403 until RBAC is fixed) without reporting every blip.
   */
  onTemporaryError?: (key: string, err: unknown, failures: number) => void | Promise<void>;
  metrics?: ControllerMetrics;
  logger?: Logger;
  clock?: Clock;
}

export interface Controller {
  readonly name: string;
  readonly queue: WorkQueue;
  /** Starts the workers; keys added before start wait in the queue. */
  start(): void;
  /** Stops taking keys and waits for reconciles in flight. */
  stop(): Promise<void>;
}

export function controller(options: ControllerOptions): Controller {
  const clock = options.clock ?? systemClock;
  const queue = options.queue ?? new WorkQueue({
    clock,
    onWait: (_key, ms) => options.metrics?.observeQueueWait(options.name, ms / 1000),
    onRetry: () => options.metrics?.countRetry(options.name),
  });
  const logger = options.logger ?? silentLogger;
  const { name, metrics } = options;
  metrics?.trackQueue(name, () => queue.len(), () => queue.inFlight());
  const workers: Promise<void>[] = [];

  async function processOne(key: string): Promise<void> {
    const started = clock.now();
    let outcome: 'success' | 'requeue' | 'error' = 'success';
    try {
      const result = await options.reconcile(key);
      if (result?.requeueAfterMs !== undefined) {
        outcome = 'requeue';
        queue.forget(key);
        queue.addAfter(key, result.requeueAfterMs);
      } else if (result?.requeue) {
        outcome = 'requeue';
        queue.addRateLimited(key);
      } else {
        queue.forget(key);
      }
    } catch (err) {
      outcome = 'error';
      await handleError(key, err);
    } finally {
      metrics?.observeReconcile(name, (clock.now() - started) / 1000, outcome);
      queue.done(key);
    }
  }

  async function handleError(key: string, thrown: unknown): Promise<void> {
    // API and network failures are typed here, once, by status code (kube/api-errors.ts).
    const err = typedApiError(thrown);
    const message = err instanceof Error ? err.message : String(err);
    if (queue.isShuttingDown()) {
      // Stopped mid-reconcile (leadership ended): nothing is retried in this term.
      logger.info('reconcile ended by stop', { controller: name, key, error: message });
      return;
    }
    const kind = classifyError(err);
    metrics?.countError(name, kind);
    if (err instanceof PermanentError) {
      queue.forget(key);
      logger.error('reconcile failed permanently; retried when its inputs change', { controller: name, key, reason: err.reason, error: message });
      try {
        await options.onPermanentError?.(key, err);
      } catch (reportErr) {
        // Reporting is itself an API write that may fail: retry the key rather than lose the report.
        logger.error('reporting a permanent error failed', { controller: name, key, error: String(reportErr) });
        queue.addRateLimited(key);
      }
      return;
    }
    const retries = queue.numRequeues(key);
    const reason = err instanceof TemporaryError ? err.reason : undefined;
    logger.error('reconcile failed, will retry', { controller: name, key, kind, reason, retries, error: message });
    queue.addRateLimited(key, err instanceof TemporaryError ? err.delayMs : 0);
    try {
      await options.onTemporaryError?.(key, err, retries + 1);
    } catch (reportErr) {
      logger.error('reporting a temporary error failed', { controller: name, key, error: String(reportErr) });
    }
  }

  async function worker(): Promise<void> {
    for (;;) {
      const key = await queue.get();
      if (key === undefined) return;
      await processOne(key);
    }
  }

  let started = false;
  return {
    name,
    queue,
    start() {
      if (started) return;
      started = true;
      for (let i = 0; i < Math.max(1, options.concurrency ?? 1); i++) workers.push(worker());
      logger.info('controller started', { controller: name, workers: workers.length });
    },
    async stop() {
      await queue.shutdown({ drain: true });
      await Promise.all(workers);
    },
  };
}
