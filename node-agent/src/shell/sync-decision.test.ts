import { describe, expect, it } from 'vitest';
import type { ServiceNatPlan } from '@natplan/api';
import type { ApplyFailure, ApplySuccess } from '../applier/types.js';
import { ExecError } from '../exec/index.js';
import { afterSyncAttempt, decideSync, newSyncPacing, programmingLatencies, syncStarted, takeChangedPlans, waitBeforeSync, type SyncContext } from './sync-decision.js';

const T0 = Date.parse('2026-11-22T10:00:00Z');
const context = (over: Partial<SyncContext> = {}): SyncContext => ({ generation: 4, problems: [], nowMs: T0, durationMs: 3, ...over });
const success = (over: Partial<ApplySuccess> = {}): ApplySuccess => ({
  ok: true, mode: 'incremental', durationMs: 7, digest: 'fnv1a64:1', counts: { services: 2, endpoints: 5 },
  staleUdpCleared: [], staleUdpFinished: true, conntrackErrors: [], kernel: { confirmed: true },
  stagesMs: { render: 1, checkBefore: 2, commit: 2, checkAfter: 2, conntrack: 0 }, ...over,
});
const failure = (error: ApplyFailure['error'], mode: ApplyFailure['mode'] = 'incremental'): ApplyFailure => ({ ok: false, mode, durationMs: 9, error, reason: `ApplyFailed: ${error.message}` });
const plan = (name: string, resourceVersion: string, triggerTime?: string) =>
  ({ metadata: { namespace: 'ns', name, resourceVersion }, spec: { ...(triggerTime ? { triggerTime } : {}) } }) as unknown as ServiceNatPlan;

describe('takeChangedPlans: the plans a sync takes at its start', () => {
  it('takes what changed since the last sync', () => {
    const changed = new Map([['ns/a', plan('a', '1')]]);
    expect([...takeChangedPlans(undefined, changed).keys()]).toEqual(['ns/a']);
  });

  it('nothing changed: takes nothing', () => {
    expect(takeChangedPlans(undefined, new Map()).size).toBe(0);
  });

  it('takes again what a failed sync took, and a newer version of the same plan wins', () => {
    const carried = new Map([['ns/a', plan('a', '1')], ['ns/b', plan('b', '2')]]);
    const changed = new Map([['ns/a', plan('a', '3')], ['ns/c', plan('c', '4')]]);
    const taken = takeChangedPlans(carried, changed);
    expect([...taken].map(([k, p]) => `${k}@${p.metadata!.resourceVersion}`)).toEqual(['ns/a@3', 'ns/b@2', 'ns/c@4']);
  });

  it('is a snapshot: a plan that changes after the sync started is not in it', () => {
    const changed = new Map([['ns/a', plan('a', '1')]]);
    const taken = takeChangedPlans(undefined, changed);
    changed.set('ns/late', plan('late', '2'));
    expect([...taken.keys()]).toEqual(['ns/a']);
  });
});

describe('decideSync: what a sync outcome means', () => {
  it('no NodeNatPlan for this node yet: succeeded, nothing reported, the changes wait', () => {
    expect(decideSync({ kind: 'noPlan' }, context())).toEqual({ ok: true, kernelUnconfirmed: false, programmed: false });
  });

  it('no backend: failed (retried), NoBackend reported with the shell\'s duration', () => {
    const d = decideSync({ kind: 'noBackend', message: 'neither nft nor iptables works' }, context());
    expect(d).toMatchObject({ ok: false, failure: 'neither nft nor iptables works', programmed: false, failureMetric: { backend: 'none', kind: 'NoBackend' } });
    expect(d.report).toEqual({ backend: 'none', generation: 4, ok: false, problem: { reason: 'NoBackend', message: 'neither nft nor iptables works' }, counts: {}, digest: undefined, syncedAt: T0, durationMs: 3 });
  });

  it.each([
    { name: 'a tool error: its class labels the failure', error: new ExecError('invalid', ['nft', '-f', '-'], 'Error: syntax error', 1), kind: 'invalid' },
    { name: 'a renderer exception: labelled render', error: new Error('cannot express plan'), kind: 'render' },
  ])('apply failed ($name): failed, ApplyFailed reported, the changes kept for the next sync', ({ error, kind }) => {
    const result = failure(error);
    const d = decideSync({ kind: 'applied', backend: 'nftables', result }, context());
    expect(d).toMatchObject({ ok: false, failure: result.reason, mode: 'incremental', kernelUnconfirmed: false, programmed: false, failureMetric: { backend: 'nftables', kind } });
    expect(d.report).toMatchObject({ backend: 'nftables', generation: 4, ok: false, problem: { reason: 'ApplyFailed', message: result.reason }, counts: {}, durationMs: 9 });
  });

  it('applied and confirmed: succeeded, programmed, the applier\'s counts and duration reported', () => {
    const d = decideSync({ kind: 'applied', backend: 'iptables', result: success({ mode: 'full' }) }, context());
    expect(d).toEqual({
      ok: true, mode: 'full', kernelUnconfirmed: false, programmed: true,
      report: { backend: 'iptables', generation: 4, ok: true, problem: undefined, counts: { services: 2, endpoints: 5 }, digest: 'fnv1a64:1', syncedAt: T0, durationMs: 7, kernel: { confirmed: true } },
    });
  });

  it('nothing changed (mode unchanged) is a success like any other', () => {
    expect(decideSync({ kind: 'applied', backend: 'nftables', result: success({ mode: 'unchanged' }) }, context())).toMatchObject({ ok: true, mode: 'unchanged', programmed: true });
  });

  it('invalid plans left out: still a success, reported as InvalidPlan (message capped)', () => {
    const problems = ['ServiceNatPlan ns/a is invalid', 'x'.repeat(5000)];
    const d = decideSync({ kind: 'applied', backend: 'nftables', result: success() }, context({ problems }));
    expect(d.ok).toBe(true);
    expect(d.report?.problem?.reason).toBe('InvalidPlan');
    expect(d.report?.problem?.message).toHaveLength(4000);
    expect(d.report?.problem?.message.startsWith('ServiceNatPlan ns/a is invalid\nxxx')).toBe(true);
  });

  it('drift repaired: succeeded, and the report says what was repaired', () => {
    const d = decideSync({ kind: 'applied', backend: 'nftables', result: success({ mode: 'full', driftRepaired: 'table natplan missing' }) }, context());
    expect(d).toMatchObject({ ok: true, programmed: true, report: { driftRepaired: 'table natplan missing' } });
  });

  it('committed but the kernel does not confirm it: failed, not programmed, the report carries the kernel\'s word', () => {
    const kernel = { confirmed: false as const, problem: 'commit marker missing' };
    const d = decideSync({ kind: 'applied', backend: 'nftables', result: success({ kernel, driftRepaired: 'x' }) }, context());
    expect(d).toMatchObject({ ok: false, failure: 'commit marker missing', kernelUnconfirmed: true, programmed: false });
    expect(d.failureMetric).toBeUndefined();
    expect(d.report).toMatchObject({ ok: true, kernel });
    expect(d.report).not.toHaveProperty('driftRepaired');
  });
});

describe('programmingLatencies', () => {
  const plans = new Map([
    ['ns/a', plan('a', '1', '2026-11-22T09:59:58Z')],
    ['ns/no-trigger', plan('b', '2')],
    ['ns/future', plan('c', '3', '2026-11-22T10:00:05Z')],
  ]);

  it('trigger time to now for each programmed plan; none without a trigger time or from the future', () => {
    expect(programmingLatencies(plans, T0, false)).toEqual([2]);
  });

  it('the first sync programs everything there is: no latency observed', () => {
    expect(programmingLatencies(plans, T0, true)).toEqual([]);
  });
});

describe('retry and pacing of the sync loop', () => {
  it('a failure retries with doubling delays up to the cap; a success resets', () => {
    const retry = { baseMs: 1000, maxMs: 5000 };
    let failures = 0;
    const delays: Array<number | undefined> = [];
    for (const ok of [false, false, false, false, true, false]) {
      const next = afterSyncAttempt(ok, failures, retry);
      failures = next.failures;
      delays.push(next.retryInMs);
    }
    expect(delays).toEqual([1000, 2000, 4000, 5000, undefined, 1000]);
  });

  /** Runs syncs requested at `requests` (ms) through the pacing, one at a time, each taking `syncMs`; returns their start times. */
  function starts(requests: number[], minPeriodMs = 1000, syncMs = 0): number[] {
    let pacing = newSyncPacing();
    let free = Number.NEGATIVE_INFINITY;
    const out: number[] = [];
    for (const at of requests) {
      if (at < free) continue; // coalesced into the sync already waiting or running
      const start = at + waitBeforeSync(pacing, minPeriodMs, at);
      pacing = syncStarted(pacing, minPeriodMs, start);
      out.push(start);
      free = start + syncMs;
    }
    return out;
  }

  it.each([
    { name: 'the first sync starts at once', requests: [0], want: [0] },
    // The cold start's follow-up sync, then a change 300 ms later: it must not wait for the period (issue 13).
    { name: 'a change right after one sync starts at once (burst of two)', requests: [0, 300], want: [0, 300] },
    { name: 'a third sync inside the period waits for a token', requests: [0, 100, 200], want: [0, 100, 1000] },
    // Requests made while a sync waits for its token coalesce into it.
    { name: 'a burst is paced to one sync per period', requests: [0, 10, 20, 30, 1500, 1600], want: [0, 10, 1000, 2000] },
    { name: 'after a quiet period the burst is available again', requests: [0, 10, 1000, 5000, 5010], want: [0, 10, 1000, 5000, 5010] },
    { name: 'changes 1.1 s apart never wait', requests: [0, 1100, 2200, 3300], want: [0, 1100, 2200, 3300] },
  ])('$name', ({ requests, want }) => {
    expect(starts(requests)).toEqual(want);
  });

  it('a long sync refills the bucket while it runs', () => {
    // Syncs of 5 s with changes arriving all the time: each next sync starts when the last one ends.
    expect(starts([0, 5000, 10_000], 1000, 5000)).toEqual([0, 5000, 10_000]);
  });

  it('no minimum period: never waits', () => {
    let pacing = newSyncPacing();
    for (const at of [0, 0, 0, 1]) {
      expect(waitBeforeSync(pacing, 0, at)).toBe(0);
      pacing = syncStarted(pacing, 0, at);
    }
  });
});
