import { describe, expect, it } from 'vitest';
import type { PortMapper } from './client.js';
import { FakeClock } from './fakes.js';
import { DEFAULT_RETRY_MS, MappingLease, MIN_RETRY_MS } from './lease.js';
import type { LeaseEvent } from './lease.js';
import { GatewayRefusal, GatewayTimeout } from './types.js';
import type { GrantedMapping, MappingRequest } from './types.js';

const REQUEST: MappingRequest = { protocol: 'tcp', internalPort: 8080, suggestedExternalPort: 8080, lifetimeSeconds: 3600 };

/** A mapper scripted call by call: each entry is a granted lifetime or an error to throw. */
class ScriptedMapper implements PortMapper {
  readonly calls: { at: number; op: 'map' | 'unmap' }[] = [];
  constructor(private readonly clock: FakeClock, private readonly script: (number | Error)[]) {}

  async map(request: MappingRequest): Promise<GrantedMapping> {
    this.calls.push({ at: this.clock.now(), op: 'map' });
    const next = this.script.shift() ?? new Error('script exhausted');
    if (next instanceof Error) throw next;
    return { via: 'pcp', protocol: request.protocol, internalPort: request.internalPort, externalPort: 8080, externalAddress: '11.18.0.1', lifetimeSeconds: next, epochSeconds: 1 };
  }

  async unmap(): Promise<void> {
    this.calls.push({ at: this.clock.now(), op: 'unmap' });
  }
}

function setup(script: (number | Error)[]) {
  const clock = new FakeClock();
  const mapper = new ScriptedMapper(clock, script);
  const events: LeaseEvent[] = [];
  const lease = new MappingLease(mapper, clock, REQUEST, (e) => events.push(e));
  return { clock, mapper, events, lease };
}

describe('MappingLease', () => {
  it('renews at half of each granted lifetime (RFC 6887 section 11.2.1)', async () => {
    const { clock, mapper, events, lease } = setup([120, 120, 40, 40]);
    lease.start();
    await clock.advance(0);
    await clock.advance(60_000 + 60_000 + 20_000);
    expect(mapper.calls.map((c) => c.at)).toEqual([0, 60_000, 120_000, 140_000]);
    expect(events.map((e) => e.type === 'mapped' && e.renewal)).toEqual([0, 1, 2, 3]);
    expect(lease.current()).toMatchObject({ externalAddress: '11.18.0.1', lifetimeSeconds: 40 });
  });

  it('retries a failed renewal at half the remaining lifetime, so it tries again before expiry', async () => {
    const timeout = new GatewayTimeout('pcp', 3, 3500);
    const { clock, mapper, events, lease } = setup([120, timeout, timeout, 120]);
    lease.start();
    await clock.advance(0);
    await clock.advance(60_000 + 30_000 + 15_000);
    expect(mapper.calls.map((c) => c.at)).toEqual([0, 60_000, 90_000, 105_000]);
    expect(events.map((e) => e.type)).toEqual(['mapped', 'retrying', 'retrying', 'mapped']);
    expect(events[1]).toMatchObject({ retryInMs: 30_000 });
  });

  it('retries transient refusals after the error lifetime when no mapping stands', async () => {
    const { clock, mapper, lease } = setup([new GatewayRefusal('no-resources', 'pcp', 8, 30), 60]);
    lease.start();
    await clock.advance(30_000);
    expect(mapper.calls.map((c) => c.at)).toEqual([0, 30_000]);
    expect(lease.current()).toBeDefined();
  });

  it('retries after the default delay when nothing better is known', async () => {
    const { clock, mapper, lease } = setup([new GatewayTimeout('nat-pmp', 5, 7750), 60]);
    lease.start();
    await clock.advance(DEFAULT_RETRY_MS);
    expect(mapper.calls.map((c) => c.at)).toEqual([0, DEFAULT_RETRY_MS]);
  });

  it('stops on a refusal that cannot heal and reports it', async () => {
    const { clock, mapper, events, lease } = setup([new GatewayRefusal('not-authorized', 'pcp', 2)]);
    lease.start();
    await clock.advance(3_600_000);
    expect(mapper.calls).toHaveLength(1);
    expect(events).toEqual([{ type: 'refused', error: expect.objectContaining({ reason: 'not-authorized' }) }]);
    expect(lease.current()).toBeUndefined();
    expect(clock.pending()).toBe(0);
  });

  it('never renews faster than MIN_RETRY_MS, even for a 1-second grant', async () => {
    const { clock, mapper, lease } = setup([1, 1, 1]);
    lease.start();
    await clock.advance(2 * MIN_RETRY_MS);
    expect(mapper.calls.map((c) => c.at)).toEqual([0, MIN_RETRY_MS, 2 * MIN_RETRY_MS]);
  });

  it('a mapping that was not renewed is not current past its lifetime', async () => {
    const timeout = new GatewayTimeout('pcp', 3, 3500);
    const { clock, lease } = setup([10, timeout, timeout, timeout, timeout, timeout]);
    lease.start();
    await clock.advance(9_999);
    expect(lease.current()).toBeDefined();
    await clock.advance(1);
    expect(lease.current()).toBeUndefined();
  });

  it('release stops renewing and deletes the mapping', async () => {
    const { clock, mapper, lease } = setup([120]);
    lease.start();
    await clock.advance(0);
    await lease.release();
    await clock.advance(600_000);
    expect(mapper.calls.map((c) => c.op)).toEqual(['map', 'unmap']);
    expect(lease.current()).toBeUndefined();
  });

  it('renewNow asks at once (the gateway lost its state) and the next renewal counts from that answer', async () => {
    const { clock, mapper, lease } = setup([120, 120, 120]);
    lease.start();
    await clock.advance(10_000);
    lease.renewNow();
    await clock.advance(0);
    expect(mapper.calls.map((c) => c.at)).toEqual([0, 10_000]);
    await clock.advance(60_000);
    expect(mapper.calls.map((c) => c.at)).toEqual([0, 10_000, 70_000]);
  });

  it('renewNow does nothing while a request is on its way, or once stopped', async () => {
    const clock = new FakeClock();
    const mapper = new ScriptedMapper(clock, [120, 120]);
    const lease: MappingLease = new MappingLease(mapper, clock, REQUEST, () => lease.renewNow());
    lease.start();
    await clock.advance(0);
    expect(mapper.calls).toHaveLength(1); // asked from within its own answer: no second request
    lease.stop();
    lease.renewNow();
    await clock.advance(600_000);
    expect(mapper.calls).toHaveLength(1);
  });
});
