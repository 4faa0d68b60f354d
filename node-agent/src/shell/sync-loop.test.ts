import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { SyncLoop } from './sync-loop.js';

describe('SyncLoop pacing (kube-proxy minSyncPeriod: a burst of two, then one per period)', () => {
  beforeEach(() => { vi.useFakeTimers(); });
  afterEach(() => { vi.useRealTimers(); });

  it('runs a change right after a sync at once, paces the third, and coalesces what waits', async () => {
    const starts: number[] = [];
    const loop = new SyncLoop({ sync: async () => { starts.push(Date.now()); return true; }, minPeriodMs: 1000, now: () => Date.now() });
    const t0 = Date.now();
    loop.start();
    await loop.syncNow(); // e.g. the cold start
    await loop.syncNow(); // its follow-up, or a change 0 ms later: still inside the burst
    const third = loop.syncNow();
    loop.request(); // arrives while the third waits: the same sync
    await vi.advanceTimersByTimeAsync(999);
    expect(starts.map((s) => s - t0)).toEqual([0, 0]);
    await vi.advanceTimersByTimeAsync(1);
    expect(await third).toBe(true);
    expect(starts.map((s) => s - t0)).toEqual([0, 0, 1000]);
    // A quiet period refills the bucket: the next change syncs at once.
    await vi.advanceTimersByTimeAsync(5000);
    await loop.syncNow();
    expect(starts.map((s) => s - t0)).toEqual([0, 0, 1000, 6000]);
    await loop.stop();
  });
});
