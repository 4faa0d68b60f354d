import { describe, expect, it } from 'vitest';
import { ApiError } from '@natplan/controller-kit';
import { afterStatusWriteFailure, STATUS_WRITE_RETRY, statusFor, whenToWrite, type SyncReport } from './status.js';

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

describe('a failed status write', () => {
  const apiError = (statusCode: number, reason: string, retryAfterSeconds?: number) =>
    new ApiError(statusCode, reason, `PATCH /apis/natplan.io/v1alpha1/nodenatplans/node-a/status: ${statusCode} ${reason}`, {}, retryAfterSeconds);
  const noJitter = () => 0;

  it('is not retried when the API server refused the status itself (422): the same status is refused again', () => {
    expect(afterStatusWriteFailure(apiError(422, 'Invalid'), 0, noJitter)).toEqual({ failures: 1, kind: 'permanent', reason: 'Invalid' });
    expect(afterStatusWriteFailure(apiError(400, 'BadRequest'), 3, noJitter).retryInMs).toBeUndefined();
  });

  it('is retried with doubling delays up to the cap while the server is unavailable', () => {
    let failures = 0;
    const delays: Array<number | undefined> = [];
    for (let i = 0; i < 7; i++) {
      const next = afterStatusWriteFailure(apiError(503, 'ServiceUnavailable'), failures, noJitter);
      failures = next.failures;
      delays.push(next.retryInMs);
    }
    expect(delays).toEqual([1000, 2000, 4000, 8000, 16_000, 30_000, 30_000]);
  });

  it('waits at least the Retry-After of a 429', () => {
    expect(afterStatusWriteFailure(apiError(429, 'TooManyRequests', 7), 0, noJitter)).toEqual({ failures: 1, kind: 'temporary', reason: 'TooManyRequests', retryInMs: 7000 });
  });

  it('retries a 403 (RBAC or the node-identity policy settling), a network error and an unforeseen error', () => {
    expect(afterStatusWriteFailure(apiError(403, 'Forbidden'), 0, noJitter)).toMatchObject({ kind: 'temporary', reason: 'Forbidden', retryInMs: 1000 });
    const refused = Object.assign(new Error('connect ECONNREFUSED 10.0.0.1:6443'), { code: 'ECONNREFUSED' });
    expect(afterStatusWriteFailure(refused, 0, noJitter)).toMatchObject({ kind: 'temporary', reason: 'NetworkError', retryInMs: 1000 });
    expect(afterStatusWriteFailure(new TypeError('x is undefined'), 1, noJitter)).toMatchObject({ kind: 'temporary', reason: 'UnknownError', retryInMs: 2000 });
  });

  it('spreads retries by at most the jitter', () => {
    const most = afterStatusWriteFailure(apiError(503, 'ServiceUnavailable'), 0, () => 0.999).retryInMs!;
    expect(most).toBeGreaterThan(STATUS_WRITE_RETRY.baseMs);
    expect(most).toBeLessThanOrEqual(STATUS_WRITE_RETRY.baseMs * 1.1);
  });
});
