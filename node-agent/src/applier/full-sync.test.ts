/**
 * When a sync is full instead of incremental: the applier's bookkeeping (full-sync.ts) and
 * the renderer's own flag (the element store says when it lost track of what changed).
 */
import { describe, expect, it } from 'vitest';
import { RulesetStore } from '../render/element-store.js';
import { makeEndpoint, makeInput, makeServicePlan } from '../render/testing/builders.js';
import { afterSync, fullSyncReason, REPAIR_COST_FACTOR, type FullSyncState } from './full-sync.js';

const INTERVAL = 3_600_000;
/** Committed, nothing requested, the last full sync at 0 took 50 ms. */
const steady = (over: Partial<FullSyncState> = {}): FullSyncState => ({ committed: true, requested: false, lastFullAtMs: 0, lastFullCostMs: 50, ...over });
const AT = 60_000;

describe('fullSyncReason', () => {
  it.each([
    { name: 'the start (nothing committed yet)', state: steady({ committed: false, requested: true }), now: AT, renderer: false, reason: 'start' },
    { name: 'a request (failure, unconfirmed kernel, drift, resync timer)', state: steady({ requested: true }), now: AT, renderer: false, reason: 'requested' },
    { name: 'the repair interval passed', state: steady(), now: INTERVAL, renderer: false, reason: 'repairDue' },
    { name: 'the renderer lost track (a NodeNatPlan change, its own failure)', state: steady(), now: AT, renderer: true, reason: 'renderer' },
    { name: 'nothing of the above: incremental', state: steady(), now: AT, renderer: false, reason: undefined },
    { name: 'just before the interval: incremental', state: steady(), now: INTERVAL - 1, renderer: false, reason: undefined },
  ])('$name -> $reason', ({ state, now, renderer, reason }) => {
    expect(fullSyncReason(state, now, INTERVAL, renderer)).toBe(reason);
  });

  it('a costly full sync pushes the periodic repair out to 100 times its cost', () => {
    const costly = steady({ lastFullCostMs: 60_000 }); // 100 x 60 s = 100 min > the 60 min interval
    expect(fullSyncReason(costly, INTERVAL, INTERVAL)).toBeUndefined();
    expect(fullSyncReason(costly, REPAIR_COST_FACTOR * 60_000, INTERVAL)).toBe('repairDue');
  });
});

describe('afterSync: whether the next sync is full', () => {
  it('a failed commit makes the next sync full', () => {
    expect(afterSync(steady(), { kind: 'commitFailed' })).toEqual(steady({ requested: true }));
  });

  it('a renderer error leaves everything as it was (nothing reached the kernel)', () => {
    expect(afterSync(steady(), { kind: 'renderFailed' })).toEqual(steady());
    expect(afterSync(steady({ requested: true }), { kind: 'renderFailed' })).toEqual(steady({ requested: true }));
  });

  it('a confirmed full sync clears the request and restarts the repair clock with its cost', () => {
    expect(afterSync(steady({ committed: false, requested: true }), { kind: 'committed', full: true, startedAtMs: 1000, finishedAtMs: 1250, kernelConfirmed: true }))
      .toEqual({ committed: true, requested: false, lastFullAtMs: 1000, lastFullCostMs: 250 });
  });

  it('a confirmed incremental sync keeps the repair clock', () => {
    expect(afterSync(steady(), { kind: 'committed', full: false, startedAtMs: 5000, finishedAtMs: 5010, kernelConfirmed: true })).toEqual(steady());
  });

  it.each([true, false])('a commit the kernel does not confirm (full: %s) makes the next sync full', (full) => {
    expect(afterSync(steady(), { kind: 'committed', full, startedAtMs: 5000, finishedAtMs: 5010, kernelConfirmed: false }).requested).toBe(true);
  });
});

describe('the renderer\'s flag (element store)', () => {
  const web = (endpoint: string) => makeServicePlan('ns1', 'web', (s) => { s.endpoints = [makeEndpoint(endpoint)]; });

  it('full at the start, incremental for Service changes, full again after a NodeNatPlan change', () => {
    const store = new RulesetStore();
    expect(store.update(makeInput([web('10.244.1.5')])).needsFull).toBe(true);
    store.committed();
    expect(store.update(makeInput([web('10.244.1.5')])).needsFull).toBe(false); // nothing changed
    expect(store.update(makeInput([web('10.244.1.6')])).needsFull).toBe(false); // an endpoint changed
    store.committed();
    expect(store.update(makeInput([web('10.244.1.6')], (n) => { n.nodePortAddresses = ['172.18.0.3']; })).needsFull).toBe(true);
  });

  it('stays full until a commit: a failed apply does not lose the flag', () => {
    const store = new RulesetStore();
    store.update(makeInput([web('10.244.1.5')]));
    expect(store.update(makeInput([web('10.244.1.6')])).needsFull).toBe(true);
  });
});
