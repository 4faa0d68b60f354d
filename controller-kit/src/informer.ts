import type { KubernetesObject } from '@kubernetes/client-node';
import { backoffDelay, type BackoffOptions } from './backoff.js';
import { sleep, systemClock, type Clock } from './clock.js';
import type { Logger } from './controller.js';
import { silentLogger } from './controller.js';
import { objectKey } from './kube/client.js';
import type { ListWatcher, WatchEventType } from './kube/list-watch.js';
import { ObjectStore } from './store.js';

export interface InformerHandlers<T> {
  add?(obj: T): void;
  update?(oldObj: T, newObj: T): void;
  delete?(obj: T): void;
}

export interface InformerOptions {
  /** For logs. */
  name: string;
  clock?: Clock;
  logger?: Logger;
  /** Delay between failed list/watch attempts; 800 ms doubling to 30 s unless given (client-go's reflector backoff). */
  backoff?: BackoffOptions;
}

const DEFAULT_BACKOFF: BackoffOptions = { baseMs: 800, maxMs: 30_000, jitter: 0.1 };

/** A watch closed sooner than this is treated as a failure (client-go's "very short watch"). */
const MIN_HEALTHY_WATCH_MS = 1000;

type WatchOutcome = 'closed' | 'expired' | { error: unknown };

/**
 * A list+watch cache that does not give up. client-node's informer stops on the first
 * error; this one re-lists with backoff after any failure, re-lists at once when the
 * resourceVersion expired (410 Gone), and resumes a watch the server closed normally.
 * A re-list is diffed against the cache, so handlers see the adds, updates and deletes
 * missed while disconnected, never a spurious event for an unchanged object.
 */
export class Informer<T extends KubernetesObject> {
  readonly store = new ObjectStore<T>();
  private readonly handlers: InformerHandlers<T>[] = [];
  private readonly clock: Clock;
  private readonly logger: Logger;
  private readonly backoff: BackoffOptions;
  private readonly stopSignal = new AbortController();
  private synced = false;
  private syncWaiters: Array<(synced: boolean) => void> = [];
  private running: Promise<void> | undefined;
  private activeWatch: { abort(): void } | undefined;
  /** Ends the pending watchOnce; stop() calls it since an aborted stream may never report done. */
  private endWatch: (() => void) | undefined;
  private failures = 0;
  /** Counts list calls: a test and metrics hook. */
  lists = 0;

  constructor(
    private readonly source: ListWatcher<T>,
    private readonly options: InformerOptions,
  ) {
    this.clock = options.clock ?? systemClock;
    this.logger = options.logger ?? silentLogger;
    this.backoff = options.backoff ?? DEFAULT_BACKOFF;
  }

  /** Registers handlers; register before `start` to see the initial adds. */
  on(handlers: InformerHandlers<T>): this {
    this.handlers.push(handlers);
    return this;
  }

  get(key: string): T | undefined {
    return this.store.get(key);
  }

  list(): T[] {
    return this.store.list();
  }

  /** True once the first list has been loaded into the cache. */
  hasSynced(): boolean {
    return this.synced;
  }

  /** Resolves true once synced, false if stopped first. */
  waitForSync(): Promise<boolean> {
    if (this.synced) return Promise.resolve(true);
    if (this.stopSignal.signal.aborted) return Promise.resolve(false);
    return new Promise((resolve) => this.syncWaiters.push(resolve));
  }

  start(): void {
    this.running ??= this.run();
  }

  async stop(): Promise<void> {
    this.stopSignal.abort();
    this.activeWatch?.abort();
    this.endWatch?.();
    this.syncWaiters.splice(0).forEach((resolve) => resolve(false));
    await this.running;
  }

  private get stopped(): boolean {
    return this.stopSignal.signal.aborted;
  }

  /** Resolves (to undefined) when stop() is called. */
  private readonly stopped$ = new Promise<undefined>((resolve) => this.stopSignal.signal.addEventListener('abort', () => resolve(undefined), { once: true }));

  private async run(): Promise<void> {
    while (!this.stopped) {
      let resourceVersion: string;
      try {
        this.lists++;
        // stop() must not wait for a slow list (up to the request timeout) to finish.
        const listed = await Promise.race([this.source.list(), this.stopped$]);
        if (this.stopped || !listed) return;
        this.replace(listed.items);
        resourceVersion = listed.resourceVersion;
      } catch (err) {
        await this.fail('list', err);
        continue;
      }
      for (;;) {
        const startedAt = this.clock.now();
        const outcome = await this.watchOnce(resourceVersion, (rv) => (resourceVersion = rv));
        if (this.stopped) return;
        const healthy = this.clock.now() - startedAt >= MIN_HEALTHY_WATCH_MS;
        if (healthy) this.failures = 0; // a long-lived watch proves the connection healthy
        if (outcome === 'closed' && healthy) continue;
        // A watch the server closes at once, again and again, would spin: back off instead.
        if (outcome === 'closed') {
          await this.fail('watch', new Error('watch closed right after it opened'));
          continue;
        }
        if (outcome === 'expired') this.logger.info('watch expired, re-listing', { informer: this.options.name });
        else await this.fail('watch', outcome.error);
        break;
      }
    }
  }

  private async fail(phase: string, err: unknown): Promise<void> {
    const delay = backoffDelay(this.backoff, this.failures++, Math.random);
    this.logger.error(`${phase} failed, retrying`, { informer: this.options.name, error: String(err), delayMs: Math.round(delay) });
    await sleep(this.clock, delay, this.stopSignal.signal);
  }

  private watchOnce(resourceVersion: string, advance: (rv: string) => void): Promise<WatchOutcome> {
    return new Promise<WatchOutcome>((resolve) => {
      let finished = false;
      const finish = (outcome: WatchOutcome) => {
        if (finished) return;
        finished = true;
        this.activeWatch?.abort();
        this.activeWatch = undefined;
        this.endWatch = undefined;
        resolve(outcome);
      };
      this.endWatch = () => finish('closed');
      const onEvent = (type: WatchEventType, obj: T) => {
        if (finished) return;
        if (type === 'ERROR') {
          const status = obj as { code?: number; message?: string };
          return finish(status.code === 410 ? 'expired' : { error: new Error(`watch error ${status.code}: ${status.message}`) });
        }
        const rv = obj.metadata?.resourceVersion;
        if (rv) advance(rv);
        if (type === 'ADDED' || type === 'MODIFIED') this.upsert(obj);
        else if (type === 'DELETED') this.remove(obj);
      };
      const onDone = (err?: unknown) => {
        const code = (err as { statusCode?: number; code?: number } | undefined)?.statusCode ?? (err as { code?: number } | undefined)?.code;
        finish(!err ? 'closed' : code === 410 ? 'expired' : { error: err });
      };
      this.source.watch(resourceVersion, onEvent, onDone).then(
        (handle) => {
          if (finished || this.stopped) handle.abort();
          else this.activeWatch = handle;
          if (this.stopped) finish('closed');
        },
        (err: unknown) => finish({ error: err }),
      );
      if (this.stopped) finish('closed');
    });
  }

  /** Loads a full list: emits adds and real updates, and deletes for objects gone meanwhile. */
  private replace(items: T[]): void {
    const seen = new Set<string>();
    for (const obj of items) {
      seen.add(objectKey(obj));
      this.upsert(obj);
    }
    for (const key of this.store.keys()) {
      const obj = this.store.get(key);
      if (!seen.has(key) && obj) this.remove(obj);
    }
    if (!this.synced) {
      this.synced = true;
      this.syncWaiters.splice(0).forEach((resolve) => resolve(true));
    }
  }

  private upsert(obj: T): void {
    const old = this.store.set(obj);
    if (!old) return this.emit((h) => h.add?.(obj));
    // Same resourceVersion means the same object (a re-list): not a change.
    if (old.metadata?.resourceVersion !== undefined && old.metadata.resourceVersion === obj.metadata?.resourceVersion) return;
    this.emit((h) => h.update?.(old, obj));
  }

  /** Drops `obj` from the cache; handlers get `obj`, its last known state. */
  private remove(obj: T): void {
    this.store.delete(objectKey(obj));
    this.emit((h) => h.delete?.(obj));
  }

  private emit(call: (h: InformerHandlers<T>) => void): void {
    for (const h of this.handlers) {
      try {
        call(h);
      } catch (err) {
        // A broken handler must not stop the informer or starve the other handlers.
        this.logger.error('informer handler threw', { informer: this.options.name, error: String(err) });
      }
    }
  }
}
