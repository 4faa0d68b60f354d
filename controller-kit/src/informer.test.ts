import type { KubernetesObject } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { Informer } from './informer.js';
import { enqueueOnChange, labelKey, ownerKeys, resyncPeriodically, waitForAllSynced } from './sources.js';
import { FakeClock, flushMicrotasks } from './testing/fake-clock.js';
import { ScriptedListWatcher } from './testing/scripted-list-watcher.js';

function obj(name: string, rv: string, extra: Partial<NonNullable<KubernetesObject['metadata']>> = {}): KubernetesObject {
  return { apiVersion: 'v1', kind: 'ConfigMap', metadata: { namespace: 'ns', name, resourceVersion: rv, ...extra } };
}

function setup() {
  const clock = new FakeClock();
  const source = new ScriptedListWatcher<KubernetesObject>();
  const informer = new Informer(source, { name: 'test', clock, backoff: { baseMs: 100, maxMs: 400 } });
  const events: string[] = [];
  informer.on({
    add: (o) => events.push(`add ${o.metadata?.name}@${o.metadata?.resourceVersion}`),
    update: (a, b) => events.push(`update ${a.metadata?.name}@${a.metadata?.resourceVersion}->${b.metadata?.resourceVersion}`),
    delete: (o) => events.push(`delete ${o.metadata?.name}`),
  });
  return { clock, source, informer, events };
}

describe('Informer', () => {
  it('lists, syncs, then applies watch events from the list resourceVersion', async () => {
    const { source, informer, events } = setup();
    source.nextList({ items: [obj('a', '1')], resourceVersion: '10' });
    informer.start();
    expect(await informer.waitForSync()).toBe(true);
    await flushMicrotasks();
    expect(source.current()?.resourceVersion).toBe('10');
    source.emit('ADDED', obj('b', '11'));
    source.emit('MODIFIED', obj('a', '12'));
    source.emit('DELETED', obj('b', '13'));
    expect(events).toEqual(['add a@1', 'add b@11', 'update a@1->12', 'delete b']);
    expect(informer.list().map((o) => o.metadata?.name)).toEqual(['a']);
    expect(informer.get('ns/a')?.metadata?.resourceVersion).toBe('12');
    await informer.stop();
  });

  it('re-lists with growing backoff after errors and diffs the new list against the cache', async () => {
    const { clock, source, informer, events } = setup();
    source.nextList(new Error('connection refused')).nextList(new Error('still down'));
    source.nextList({ items: [obj('a', '1'), obj('b', '2')], resourceVersion: '5' });
    informer.start();
    await flushMicrotasks();
    expect(informer.hasSynced()).toBe(false);
    await clock.advance(100);
    expect(source.listCalls).toBe(2);
    await clock.advance(199);
    expect(source.listCalls).toBe(2);
    await clock.advance(1);
    expect(informer.hasSynced()).toBe(true);
    await clock.advance(5000);
    // the watch breaks; while disconnected, b was deleted, a changed, c appeared
    source.nextList({ items: [obj('a', '7'), obj('c', '8')], resourceVersion: '9' });
    source.close(new Error('socket hang up'));
    await clock.advance(100);
    expect(events.slice(0, 2)).toEqual(['add a@1', 'add b@2']);
    expect(new Set(events)).toEqual(new Set(['add a@1', 'add b@2', 'update a@1->7', 'add c@8', 'delete b']));
    expect(source.current()?.resourceVersion).toBe('9');
    await informer.stop();
  });

  it('re-lists at once on 410 Gone, without events for unchanged objects', async () => {
    const { source, informer, events } = setup();
    source.nextList({ items: [obj('a', '1')], resourceVersion: '5' });
    source.nextList({ items: [obj('a', '1')], resourceVersion: '50' });
    informer.start();
    await informer.waitForSync();
    await flushMicrotasks();
    source.emit('ERROR', { code: 410, message: 'too old resource version' } as KubernetesObject);
    await flushMicrotasks();
    expect(source.listCalls).toBe(2);
    expect(source.current()?.resourceVersion).toBe('50');
    expect(events).toEqual(['add a@1']);
    await informer.stop();
  });

  it('resumes a normally closed watch from the last resourceVersion seen, without re-listing', async () => {
    const { clock, source, informer } = setup();
    source.nextList({ items: [], resourceVersion: '5' });
    informer.start();
    await informer.waitForSync();
    await flushMicrotasks();
    source.emit('BOOKMARK', { metadata: { resourceVersion: '77' } });
    await clock.advance(60_000);
    source.close();
    await flushMicrotasks();
    expect(source.listCalls).toBe(1);
    expect(source.current()?.resourceVersion).toBe('77');
    // a watch closed right after opening backs off instead of spinning
    source.close();
    await flushMicrotasks();
    expect(source.current()).toBeUndefined();
    await clock.advance(100);
    expect(source.current()?.resourceVersion).toBe('77');
    await informer.stop();
  });

  it('stop aborts the watch and releases waitForSync', async () => {
    const { source, informer } = setup();
    source.nextList(new Error('down'));
    informer.start();
    const waiting = informer.waitForSync();
    await informer.stop();
    expect(await waiting).toBe(false);
  });

  it('stop does not wait for a list that never answers', async () => {
    const clock = new FakeClock();
    const hanging = { list: () => new Promise<never>(() => {}), watch: () => new Promise<never>(() => {}) };
    const informer = new Informer<KubernetesObject>(hanging, { name: 'hung', clock });
    informer.start();
    await flushMicrotasks();
    await informer.stop();
    expect(informer.hasSynced()).toBe(false);
  });

  it('keeps going when a handler throws', async () => {
    const { source, informer, events } = setup();
    informer.on({ add: () => { throw new Error('bug'); } });
    source.nextList({ items: [obj('a', '1')], resourceVersion: '1' });
    informer.start();
    await informer.waitForSync();
    await flushMicrotasks();
    source.emit('ADDED', obj('b', '2'));
    expect(events).toEqual(['add a@1', 'add b@2']);
    await informer.stop();
  });
});

describe('event to key mapping', () => {
  it('maps old and new objects to keys (EndpointSlice -> Service by label, owned -> owner)', async () => {
    const { source, informer } = setup();
    const keys: string[] = [];
    enqueueOnChange(informer, { add: (k) => keys.push(k) }, labelKey('kubernetes.io/service-name'));
    source.nextList({ items: [obj('slice-1', '1', { labels: { 'kubernetes.io/service-name': 'svc' } })], resourceVersion: '1' });
    informer.start();
    await informer.waitForSync();
    await flushMicrotasks();
    source.emit('MODIFIED', obj('slice-1', '2', { labels: { 'kubernetes.io/service-name': 'other' } }));
    source.emit('ADDED', obj('unlabelled', '3'));
    expect(keys).toEqual(['ns/svc', 'ns/svc', 'ns/other']);
    await informer.stop();
    const owned = obj('x', '1', { ownerReferences: [{ apiVersion: 'v1', kind: 'Service', name: 'svc', uid: 'u' }, { apiVersion: 'v1', kind: 'Pod', name: 'p', uid: 'v' }] });
    expect(ownerKeys('Service')(owned)).toEqual(['ns/svc']);
  });

  it('indexes objects for lookups by related key', async () => {
    const { source, informer } = setup();
    informer.store.addIndex('service', labelKey('kubernetes.io/service-name'));
    source.nextList({ items: [obj('s1', '1', { labels: { 'kubernetes.io/service-name': 'svc' } }), obj('s2', '1', { labels: { 'kubernetes.io/service-name': 'svc' } })], resourceVersion: '1' });
    informer.start();
    await informer.waitForSync();
    await flushMicrotasks();
    expect(informer.store.byIndex('service', 'ns/svc').map((o) => o.metadata?.name).sort()).toEqual(['s1', 's2']);
    source.emit('MODIFIED', obj('s1', '2', { labels: { 'kubernetes.io/service-name': 'other' } }));
    source.emit('DELETED', obj('s2', '3'));
    expect(informer.store.byIndex('service', 'ns/svc')).toEqual([]);
    expect(informer.store.byIndex('service', 'ns/other').map((o) => o.metadata?.name)).toEqual(['s1']);
    await informer.stop();
  });
});

describe('resync and sync helpers', () => {
  it('re-adds every cached key on each period until cancelled', async () => {
    const { clock, source, informer } = setup();
    const keys: string[] = [];
    source.nextList({ items: [obj('a', '1'), obj('b', '1')], resourceVersion: '1' });
    informer.start();
    expect(await waitForAllSynced([informer])).toBe(true);
    const cancel = resyncPeriodically(informer, { add: (k) => keys.push(k) }, 30_000, clock);
    await clock.advance(29_999);
    expect(keys).toEqual([]);
    await clock.advance(1);
    expect(keys.sort()).toEqual(['ns/a', 'ns/b']);
    await clock.advance(30_000);
    expect(keys).toHaveLength(4);
    cancel();
    await clock.advance(60_000);
    expect(keys).toHaveLength(4);
    await informer.stop();
  });
});
