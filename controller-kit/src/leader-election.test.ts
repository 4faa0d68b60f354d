import { describe, expect, it } from 'vitest';
import type { LeaseRecord } from './kube/lease-store.js';
import { LeaderElector } from './leader-election.js';
import { FakeClock } from './testing/fake-clock.js';
import { MemoryLease } from './testing/memory-lease-store.js';

const TIMING = { leaseDurationMs: 15_000, renewDeadlineMs: 10_000, retryPeriodMs: 2_000 };

function candidates(...names: string[]) {
  const clock = new FakeClock();
  const lease = new MemoryLease();
  const log: string[] = [];
  const electors = names.map((identity) => {
    const store = lease.view();
    const elector = new LeaderElector({
      lease: store, identity, clock, ...TIMING,
      onStartedLeading: (signal) => {
        log.push(`${identity} started`);
        signal.addEventListener('abort', () => log.push(`${identity} signal aborted`));
      },
      onStoppedLeading: () => log.push(`${identity} stopped`),
    });
    return { identity, elector, store };
  });
  const leaders = () => electors.filter((e) => e.elector.isLeader()).map((e) => e.identity);
  return { clock, lease, log, electors, leaders };
}

describe('LeaderElector', () => {
  it('elects exactly one leader, which keeps renewing', async () => {
    const { clock, lease, electors, leaders } = candidates('a', 'b', 'c');
    electors.forEach((e) => e.elector.start());
    await clock.advance(0);
    expect(leaders()).toHaveLength(1);
    const leader = leaders()[0];
    for (let i = 0; i < 10; i++) {
      await clock.advance(5_000);
      expect(leaders()).toEqual([leader]);
    }
    expect(lease.record?.holderIdentity).toBe(leader);
    expect(lease.record?.leaseTransitions).toBe(0);
    expect(lease.record?.renewTime).toMatch(/\.\d{6}Z$/);
    await Promise.all(electors.map((e) => e.elector.stop()));
  });

  it('hands over at the next retry when the leader stops and releases', async () => {
    const { clock, lease, log, electors, leaders } = candidates('a', 'b');
    electors[0]!.elector.start();
    await clock.advance(0);
    electors[1]!.elector.start();
    await clock.advance(1_000);
    expect(leaders()).toEqual(['a']);
    await electors[0]!.elector.stop();
    expect(lease.record?.holderIdentity).toBeUndefined();
    expect(log).toEqual(['a started', 'a signal aborted', 'a stopped']);
    await clock.advance(TIMING.retryPeriodMs * 1.2 + 1);
    expect(leaders()).toEqual(['b']);
    expect(lease.record?.leaseTransitions).toBe(1);
    await electors[1]!.elector.stop();
  });

  it('takes over only after leaseDuration when the leader dies without releasing', async () => {
    const { clock, electors, leaders } = candidates('a', 'b');
    electors[0]!.elector.start();
    await clock.advance(0);
    electors[1]!.elector.start();
    await clock.advance(3_000);
    await electors[0]!.elector.stop({ release: false });
    const diedAt = clock.now();
    while (leaders().length === 0 && clock.now() - diedAt < 60_000) await clock.advance(500);
    const takeover = clock.now() - diedAt;
    expect(leaders()).toEqual(['b']);
    // not before the lease (last renewed at most one retry period before death) expired
    expect(takeover).toBeGreaterThanOrEqual(TIMING.leaseDurationMs - TIMING.retryPeriodMs);
    expect(takeover).toBeLessThanOrEqual(TIMING.leaseDurationMs + TIMING.retryPeriodMs * 1.2 + 500);
    await electors[1]!.elector.stop();
  });

  it('a partitioned leader steps down after renewDeadline, before anyone else may lead', async () => {
    const { clock, log, electors, leaders } = candidates('a', 'b');
    electors[0]!.elector.start();
    await clock.advance(0);
    electors[1]!.elector.start();
    await clock.advance(1_000);
    electors[0]!.store.down = true;
    const cutAt = clock.now();
    let steppedDownAt: number | undefined;
    let otherLedAt: number | undefined;
    while (clock.now() - cutAt < 40_000) {
      await clock.advance(250);
      if (steppedDownAt === undefined && !electors[0]!.elector.isLeader()) steppedDownAt = clock.now();
      if (otherLedAt === undefined && electors[1]!.elector.isLeader()) otherLedAt = clock.now();
      expect(leaders().length).toBeLessThanOrEqual(1);
    }
    expect(steppedDownAt! - cutAt).toBeLessThanOrEqual(TIMING.renewDeadlineMs + TIMING.retryPeriodMs);
    expect(otherLedAt).toBeGreaterThan(steppedDownAt!);
    expect(log).toContain('a stopped');
    electors[0]!.store.down = false;
    await Promise.all(electors.map((e) => e.elector.stop()));
  });

  it('steps down at renewDeadline even when the renew request hangs', async () => {
    const { clock, electors } = candidates('a');
    electors[0]!.elector.start();
    await clock.advance(0);
    expect(electors[0]!.elector.isLeader()).toBe(true);
    electors[0]!.store.hang = true;
    await clock.advance(TIMING.renewDeadlineMs + TIMING.retryPeriodMs);
    expect(electors[0]!.elector.isLeader()).toBe(false);
    await electors[0]!.elector.stop({ release: false });
  });

  it('releases on stop even when a renewal that stop cut short lands meanwhile', async () => {
    const clock = new FakeClock();
    const lease = new MemoryLease();
    const store = lease.view();
    let slowWrite: Promise<void> | undefined;
    // The renewal's write is slow: it reaches the store only after stop() gave up on it.
    const slow = {
      description: store.description,
      get: () => store.get(),
      create: (record: LeaseRecord) => store.create(record),
      update: async (record: LeaseRecord, resourceVersion: string) => {
        const gate = slowWrite;
        slowWrite = undefined;
        if (gate) await gate;
        return store.update(record, resourceVersion);
      },
    };
    const elector = new LeaderElector({ lease: slow, identity: 'a', clock, ...TIMING, onStartedLeading: () => {} });
    elector.start();
    await clock.advance(0);
    let land!: () => void;
    slowWrite = new Promise<void>((r) => (land = r));
    await clock.advance(TIMING.retryPeriodMs); // the renewal is now waiting at its write
    const stopping = elector.stop();
    land();
    await stopping;
    expect(lease.record?.holderIdentity).toBeUndefined();
  });

  it('refuses a renew deadline not shorter than the lease duration', () => {
    expect(() => new LeaderElector({ lease: new MemoryLease().view(), identity: 'x', leaseDurationMs: 10, renewDeadlineMs: 10, onStartedLeading: () => {} }))
      .toThrow(/renewDeadline/);
  });
});
