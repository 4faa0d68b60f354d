import type { KubernetesObject } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { controller, type Controller } from './controller.js';
import { Informer } from './informer.js';
import type { ListWatcher, WatchEventType } from './kube/list-watch.js';
import { LeaderElector } from './leader-election.js';
import { LeaderTerms, NotLeadingError } from './leader-terms.js';
import { enqueueOnChange } from './sources.js';
import { FakeClock, flushMicrotasks } from './testing/fake-clock.js';
import { MemoryLease } from './testing/memory-lease-store.js';
import { recordingRequester } from './testing/recording-requester.js';

// Short lease, client-go's ratios; time is a FakeClock, so "loaded machine" delays are
// injected exactly where they matter: a cache list that has not answered, a reconcile
// that has not finished.
const TIMING = { leaseDurationMs: 3_000, renewDeadlineMs: 2_000, retryPeriodMs: 400 };

const thing = (name: string, resourceVersion = '1'): KubernetesObject => ({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { namespace: 'ns', name, resourceVersion } });

function deferred() {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

/** One term's cache source: its list answers only when the test calls `answer()`. */
class GatedSource implements ListWatcher<KubernetesObject> {
  private readonly gate = deferred();
  onEvent: ((type: WatchEventType, obj: KubernetesObject) => void) | undefined;

  answer(): void {
    this.gate.resolve();
  }

  async list() {
    await this.gate.promise;
    return { items: [thing('a'), thing('b')], resourceVersion: '1' };
  }

  async watch(_resourceVersion: string, onEvent: (type: WatchEventType, obj: KubernetesObject) => void) {
    this.onEvent = onEvent;
    return { abort: () => void (this.onEvent = undefined) };
  }
}

/** An elector on a memory Lease driving LeaderTerms; each term has one informer and one controller that writes through the fence. */
function world() {
  const clock = new FakeClock();
  const store = new MemoryLease().view();
  const server = recordingRequester(() => ({ statusCode: 200, body: {} }));
  const log: string[] = [];
  const built: Array<{ source: GatedSource; informer: Informer<KubernetesObject>; controller: Controller }> = [];
  const writeErrors: unknown[] = [];
  let hold: ReturnType<typeof deferred> | undefined;
  const terms: LeaderTerms = new LeaderTerms({
    build: () => {
      const term = built.length + 1;
      const source = new GatedSource();
      const informer = new Informer(source, { name: 'things', clock });
      const write = terms.fence(server);
      const c = controller({
        name: 'things', clock,
        reconcile: async (key) => {
          log.push(`term ${term} reconcile ${key}`);
          if (hold) await hold.promise;
          try {
            await write({ method: 'PATCH', path: `/things/${key}` });
          } catch (err) {
            writeErrors.push(err);
            throw err;
          }
          log.push(`term ${term} wrote ${key}`);
        },
      });
      enqueueOnChange(informer, c.queue);
      built.push({ source, informer, controller: c });
      return { informers: [informer], controllers: [c] };
    },
  });
  const elector = new LeaderElector({ lease: store, identity: 'me', clock, ...TIMING, onStartedLeading: (signal) => void terms.begin(signal) });
  /** Advances time in small steps until `condition` holds (fails after a minute of fake time). */
  const until = async (what: string, condition: () => boolean) => {
    for (let waited = 0; !condition(); waited += 100) {
      if (waited > 60_000) throw new Error(`never: ${what}`);
      await clock.advance(100);
    }
  };
  const loseLease = async () => {
    store.down = true;
    await until('leadership lost', () => !elector.isLeader());
  };
  return {
    clock, store, server, log, built, terms, elector, until, loseLease, writeErrors,
    holdReconciles: () => (hold = deferred()),
    releaseReconciles: () => { hold?.resolve(); hold = undefined; },
  };
}

describe('LeaderTerms', () => {
  it('halt during start-up: the caches sync after it, and no controller ever runs', async () => {
    const w = world();
    w.elector.start();
    await w.until('term 1 building', () => w.built.length === 1);
    await w.terms.close(); // what the operator's stop() does first
    w.built[0]!.source.answer();
    await w.clock.advance(10_000);
    expect(w.log).toEqual([]);
    expect(w.server.requests).toEqual([]);
    expect(w.terms.isRunning()).toBe(false);
    // Even a fresh leadership term does not begin after close().
    await w.loseLease();
    w.store.down = false;
    await w.until('leading again', () => w.elector.isLeader());
    await w.clock.advance(10_000);
    expect(w.built).toHaveLength(1);
    expect(w.log).toEqual([]);
    await w.elector.stop();
  });

  it('lease lost during the cache sync: that term never starts its controllers; the next term starts cleanly', async () => {
    const w = world();
    w.elector.start();
    await w.until('term 1 building', () => w.built.length === 1);
    await w.loseLease();
    w.built[0]!.source.answer(); // the slow list answers only now
    await w.clock.advance(10_000);
    expect(w.log).toEqual([]);
    expect(w.built[0]!.source.onEvent).toBeUndefined(); // its informer stopped, no watch left open

    w.store.down = false;
    await w.until('term 2 building', () => w.built.length === 2);
    expect(w.log).toEqual([]); // not before its own caches synced
    w.built[1]!.source.answer();
    await w.until('term 2 reconciled both', () => w.log.length === 4);
    expect(w.log).toEqual(['term 2 reconcile ns/a', 'term 2 wrote ns/a', 'term 2 reconcile ns/b', 'term 2 wrote ns/b']);
    expect(w.terms.isRunning()).toBe(true);
    await w.terms.close();
    await w.elector.stop();
  });

  it('lease lost while running: the reconcile in flight cannot write, nothing reconciles after, and the next term waits for it', async () => {
    const w = world();
    w.elector.start();
    await w.until('term 1 building', () => w.built.length === 1);
    w.built[0]!.source.answer();
    await w.until('term 1 reconciled both', () => w.log.length === 4);
    const term1 = w.built[0]!;

    w.holdReconciles(); // a reconcile that is slow to reach its write
    term1.source.onEvent!('MODIFIED', thing('a', '2'));
    await w.until('reconcile in flight', () => w.log.at(-1) === 'term 1 reconcile ns/a');
    const writesBefore = w.server.requests.length;
    const logBefore = w.log.length;

    await w.loseLease();
    term1.controller.queue.add('ns/b'); // a late event into the old queue
    w.store.down = false;
    await w.until('leading again', () => w.elector.isLeader());
    await w.clock.advance(5_000);
    expect(w.built).toHaveLength(1); // term 2 waits until term 1 has stopped

    w.releaseReconciles();
    await w.until('term 2 building', () => w.built.length === 2);
    expect(w.server.requests).toHaveLength(writesBefore); // the fenced write never left
    expect(w.writeErrors).toEqual([expect.any(NotLeadingError)]);
    expect(w.log.slice(logBefore)).toEqual([]);
    expect(term1.source.onEvent).toBeUndefined();

    w.built[1]!.source.answer();
    await w.until('term 2 reconciled both', () => w.log.length === logBefore + 4);
    expect(w.log.slice(logBefore).every((line) => line.startsWith('term 2 '))).toBe(true);
    await w.terms.close();
    await w.elector.stop();
  });

  it('caches that report synced just after the term ended do not start its controllers', async () => {
    // An informer may finish its list in the same moment leadership ends: the sync result
    // alone does not decide, the term must still be current.
    const synced = deferred();
    const started: string[] = [];
    const cache = { start: () => void started.push('cache'), stop: async () => {}, waitForSync: () => synced.promise.then(() => true) };
    const c = controller({ name: 'late', reconcile: async () => {} });
    const terms = new LeaderTerms({ build: () => ({ informers: [cache], controllers: [c], onSynced: () => void started.push('onSynced') }) });
    const leading = new AbortController();
    const begun = terms.begin(leading.signal);
    await flushMicrotasks();
    expect(started).toEqual(['cache']); // the term is syncing its caches
    leading.abort();
    synced.resolve();
    expect(await begun).toBe(false);
    expect(started).toEqual(['cache']);
    expect(c.queue.isShuttingDown()).toBe(true);
  });

  it('the fence refuses writes outside a term and lets reads through', async () => {
    const server = recordingRequester(() => ({ statusCode: 200, body: {} }));
    const terms = new LeaderTerms({ build: () => ({ informers: [], controllers: [] }) });
    const fenced = terms.fence(server);
    await expect(fenced({ method: 'POST', path: '/x' })).rejects.toBeInstanceOf(NotLeadingError);
    await fenced({ method: 'GET', path: '/x' });
    const leading = new AbortController();
    expect(await terms.begin(leading.signal)).toBe(true);
    await fenced({ method: 'PATCH', path: '/x' });
    leading.abort();
    await expect(fenced({ method: 'DELETE', path: '/x' })).rejects.toBeInstanceOf(NotLeadingError);
    expect(server.requests.map((r) => r.method)).toEqual(['GET', 'PATCH']);
  });
});
