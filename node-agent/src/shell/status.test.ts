import { describe, expect, it } from 'vitest';
import { statusFor, whenToWrite, type SyncReport } from './status.js';

const T0 = Date.parse('2026-11-22T10:00:00Z');
const ok = (over: Partial<SyncReport> = {}): SyncReport => ({
  backend: 'nftables', generation: 3, ok: true, problem: undefined, counts: { services: 2, endpoints: 5, exposures: 1 },
  digest: 'fnv1a64:abc', syncedAt: T0, durationMs: 12.4, ...over,
});

// Conditions come sorted by type (controller-kit's setCondition), so Degraded before Ready.
describe('NodeNatPlan status from a sync', () => {
  it('a good sync: Ready, not Degraded, counts, the generation enforced', () => {
    const s = statusFor(ok(), undefined, T0);
    expect(s).toMatchObject({ backend: 'nftables', observedGeneration: 3, services: 2, endpoints: 5, exposures: 1, lastSyncTime: '2026-11-22T10:00:00Z', lastSyncDurationMilliseconds: 12, rulesetDigest: 'fnv1a64:abc' });
    expect(s.conditions?.map((c) => [c.type, c.status, c.reason])).toEqual([['Degraded', 'False', 'AsExpected'], ['Ready', 'True', 'RulesApplied']]);
  });

  it('a failed sync keeps the last enforced generation and counts, and says why', () => {
    const good = statusFor(ok(), undefined, T0);
    const bad = statusFor(ok({ ok: false, generation: 4, problem: { reason: 'ApplyFailed', message: 'nft: Error: syntax error' }, counts: {} }), good, T0 + 5000);
    expect(bad).toMatchObject({ observedGeneration: 3, services: 2, lastSyncTime: '2026-11-22T10:00:00Z' });
    expect(bad.conditions?.map((c) => [c.type, c.status, c.reason, c.message])).toEqual([
      ['Degraded', 'True', 'ApplyFailed', 'nft: Error: syntax error'], ['Ready', 'False', 'ApplyFailed', 'nft: Error: syntax error'],
    ]);
  });

  it('rules applied but a plan invalid: Ready and Degraded at once', () => {
    const s = statusFor(ok({ problem: { reason: 'InvalidPlan', message: 'ServiceNatPlan a/b is invalid' } }), undefined, T0);
    expect(s.conditions?.map((c) => [c.type, c.status])).toEqual([['Degraded', 'True'], ['Ready', 'True']]);
  });
});

describe('status is what the kernel holds', () => {
  const good = statusFor(ok(), undefined, T0);

  it('a sync the kernel check did not confirm: not Ready, not counted as enforced', () => {
    const s = statusFor(ok({ generation: 4, counts: { services: 9 }, kernel: { confirmed: false, problem: 'kernel check failed (other): busy' } }), good, T0 + 1000);
    expect(s).toMatchObject({ observedGeneration: 3, services: 2 });
    expect(s.conditions?.map((c) => [c.type, c.status, c.reason, c.message])).toEqual([
      ['Degraded', 'True', 'KernelUnconfirmed', 'kernel check failed (other): busy'], ['Ready', 'False', 'KernelUnconfirmed', 'kernel check failed (other): busy'],
    ]);
  });

  it('a drift repaired by this sync: Ready (confirmed) but Degraded with what was missing', () => {
    const s = statusFor(ok({ kernel: { confirmed: true }, driftRepaired: 'the kernel no longer holds the last commit: table ip natplan is missing' }), good, T0 + 1000);
    expect(s.conditions?.map((c) => [c.type, c.status, c.reason])).toEqual([['Degraded', 'True', 'KernelDriftRepaired'], ['Ready', 'True', 'RulesApplied']]);
    expect(s.conditions?.[0]?.message).toBe('repaired with a full sync: the kernel no longer holds the last commit: table ip natplan is missing');
    // The next clean sync clears it.
    expect(statusFor(ok(), s, T0 + 2000).conditions?.[0]).toMatchObject({ type: 'Degraded', status: 'False' });
  });

  it('a stall reported by the watchdog wins over drift and invalid plans, but not over a failed sync', () => {
    const stalled = statusFor(ok({ stalled: 'changes wait 31 s', driftRepaired: 'x', problem: { reason: 'InvalidPlan', message: 'y' } }), good, T0);
    expect(stalled.conditions?.[0]).toMatchObject({ type: 'Degraded', status: 'True', reason: 'EnforcementStalled', message: 'changes wait 31 s' });
    const failed = statusFor(ok({ ok: false, stalled: 'changes wait 31 s', problem: { reason: 'ApplyFailed', message: 'nft: busy' } }), good, T0);
    expect(failed.conditions?.[0]).toMatchObject({ reason: 'ApplyFailed' });
  });
});

describe('when the status is written', () => {
  const period = 60_000;
  const first = statusFor(ok(), undefined, T0);
  const written = { status: first, at: T0 };

  it.each([
    ['the first report', undefined, first, T0, 'now'],
    ['nothing changed', written, statusFor(ok(), first, T0 + 1000), T0 + 1000, undefined],
    ['only counts changed, inside the period', written, statusFor(ok({ counts: { services: 3, endpoints: 5, exposures: 1 } }), first, T0 + 1000), T0 + 1000, 59_000],
    ['only the sync time moved, inside the period', written, statusFor(ok({ syncedAt: T0 + 1000 }), first, T0 + 1000), T0 + 1000, 59_000],
    ['counts changed after the period', written, statusFor(ok({ counts: { services: 3 } }), first, T0 + 61_000), T0 + 61_000, 'now'],
    ['a condition changed', written, statusFor(ok({ ok: false, problem: { reason: 'ApplyFailed', message: 'x' } }), first, T0 + 1000), T0 + 1000, 'now'],
    ['a new generation is enforced', written, statusFor(ok({ generation: 4 }), first, T0 + 1000), T0 + 1000, 'now'],
  ])('%s', (_name, prev, next, now, expected) => {
    expect(whenToWrite(prev, next, now, period)).toEqual(expected);
  });
});

describe('gateway mappings in the status', () => {
  const mapped = { address: '172.18.0.3', port: 8080, protocol: 'TCP' as const, state: 'Mapped' as const, externalAddress: '11.18.0.1', externalPort: 8080, via: 'PCP' as const };
  it('a change of what the gateway granted or refused is written at once; the same report waits for the period', () => {
    const s = statusFor(ok(), undefined, T0);
    const written = { status: { ...s, gatewayMappings: [mapped] }, at: T0 };
    expect(whenToWrite(written, { ...s, gatewayMappings: [{ ...mapped, externalAddress: '11.18.0.2' }] }, T0 + 1000, 60_000)).toBe('now');
    expect(whenToWrite(written, { ...s, gatewayMappings: [{ ...mapped, state: 'Refused', reason: 'PortTaken' }] }, T0 + 1000, 60_000)).toBe('now');
    expect(whenToWrite(written, { ...s }, T0 + 1000, 60_000)).toBe('now');
    expect(whenToWrite(written, { ...s, gatewayMappings: [{ ...mapped }] }, T0 + 1000, 60_000)).toBeUndefined();
  });
});
