import type { Controller, Logger } from './controller.js';
import { silentLogger } from './controller.js';
import type { Requester } from './kube/request.js';
import { waitForAllSynced } from './sources.js';

/** What one leadership term runs: informers (started first and waited on), then controllers. */
export interface TermParts {
  informers: ReadonlyArray<{ start(): void; stop(): Promise<void>; waitForSync(): Promise<boolean> }>;
  controllers: readonly Controller[];
  /** Runs once every cache synced, while still leading, right before the controllers start. */
  onSynced?: () => void;
}

export interface LeaderTermsOptions {
  /** Builds fresh parts for each term: a term never reuses the caches or queues of the one before. */
  build: () => TermParts;
  logger?: Logger;
}

/** A write attempted outside a leadership term; it never reached the API server. */
export class NotLeadingError extends Error {
  override readonly name = 'NotLeadingError';
}

interface Term {
  readonly id: number;
  readonly ended: AbortController;
  parts?: TermParts;
  running: boolean;
  stopping?: Promise<void>;
}

/**
 * The work a leader does, one term at a time (controller-runtime's manager, reduced):
 * - a term starts its informers, and its controllers only once every cache synced and
 *   the term is still current; a term that ends during the sync never starts them;
 * - a term ends when leadership is lost (the elector's signal) or on `end()`/`close()`:
 *   its writes are refused at once (`fence`), then its controllers stop (waiting for the
 *   reconciles in flight) and its informers stop;
 * - the next term begins only after the previous one has fully stopped, with new parts;
 * - after `close()` no term begins again.
 * Wire `begin` as the elector's onStartedLeading.
 */
export class LeaderTerms {
  private readonly logger: Logger;
  private current: Term | undefined;
  private previousStopped: Promise<void> = Promise.resolve();
  private closed = false;
  private terms = 0;

  constructor(private readonly options: LeaderTermsOptions) {
    this.logger = options.logger ?? silentLogger;
  }

  /**
   * Runs a term for as long as `leading` is not aborted. Resolves true once its
   * controllers run, false when the term ended (or was never allowed) before that.
   */
  async begin(leading: AbortSignal): Promise<boolean> {
    while (this.current) await this.end(); // a new term while an old one runs: the old one is stale
    await this.previousStopped;
    if (this.closed || leading.aborted || this.current) return false;
    const term: Term = { id: ++this.terms, ended: new AbortController(), running: false };
    this.current = term;
    leading.addEventListener('abort', () => void this.endTerm(term), { once: true });
    const parts = this.options.build();
    term.parts = parts;
    for (const informer of parts.informers) informer.start();
    const synced = await waitForAllSynced(parts.informers);
    if (!synced || term.ended.signal.aborted) {
      this.logger.info('term ended before caches synced; controllers not started', { term: term.id });
      return false;
    }
    try {
      parts.onSynced?.();
    } catch (err) {
      await this.endTerm(term);
      throw err;
    }
    term.running = true;
    for (const c of parts.controllers) c.start();
    this.logger.info('caches synced; controllers started', { term: term.id });
    return true;
  }

  /** Ends the current term, if any; resolves once everything it started has stopped. */
  end(): Promise<void> {
    return this.current ? this.endTerm(this.current) : this.previousStopped;
  }

  /** Ends the current term and refuses new ones: after this, nothing more runs. */
  async close(): Promise<void> {
    this.closed = true;
    await this.end();
  }

  /** True while a term's controllers run (the caches of that term synced). */
  isRunning(): boolean {
    return this.current?.running ?? false;
  }

  /** True from a term's beginning to its end. */
  isActive(): boolean {
    return this.current !== undefined && !this.current.ended.signal.aborted;
  }

  /**
   * `requester` that sends writes only while a term is active. A reconcile still in
   * flight when leadership is lost fails at its next write instead of overwriting what
   * the next leader decides. Reads pass: they change nothing.
   */
  fence(requester: Requester): Requester {
    return (request) => {
      if (request.method !== 'GET' && !this.isActive()) {
        return Promise.reject(new NotLeadingError(`${request.method} ${request.path}: not leading`));
      }
      return requester(request);
    };
  }

  private endTerm(term: Term): Promise<void> {
    if (term.stopping) return term.stopping;
    term.ended.abort(); // closes the fence before anything else
    term.running = false;
    if (this.current === term) this.current = undefined;
    const parts = term.parts;
    // Controllers first: their queues shut down now (synchronously), in-flight reconciles drain.
    term.stopping = (async () => {
      if (!parts) return;
      try {
        await Promise.all(parts.controllers.map((c) => c.stop()));
        await Promise.all(parts.informers.map((i) => i.stop()));
        this.logger.info('term stopped', { term: term.id });
      } catch (err) {
        // A failed stop must not keep every later term from beginning.
        this.logger.error('stopping a term failed', { term: term.id, error: String(err) });
      }
    })();
    const before = this.previousStopped;
    this.previousStopped = Promise.all([before, term.stopping]).then(() => {});
    return term.stopping;
  }
}
