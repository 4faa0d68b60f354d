import { describe, expect, it } from 'vitest';
import type { NodeNatPlanExposure } from '@natplan/api';
import type { MappingExtras, PortMapper } from './client.js';
import { ExactPortMapper } from './exact-port.js';
import { FakeClock } from './fakes.js';
import { GatewayMappings, type GatewayConnection, type HeldMapping } from './mappings.js';
import { GatewayRefusal, GatewayTimeout } from './types.js';
import type { GrantedMapping, MappingProtocol, MappingRequest } from './types.js';

// Addresses: the node 172.18.0.3 behind a gateway 172.18.0.254 whose external address is
// 11.18.0.1 (then 11.18.0.2 after an address change), as in the e2e scenario.

/** A gateway that answers by port: a grant, or the error set for that port. */
class FakeMapper implements PortMapper {
  readonly calls: string[] = [];
  externalAddress = '11.18.0.1';
  lifetimeSeconds = 10;
  via: MappingProtocol = 'pcp';
  readonly failures = new Map<number, Error>();
  /** NAT-PMP's choice of external port (no PREFER_FAILURE there). */
  natPmpPort: number | undefined;
  /** The gateway's clock: seconds since its state began, following the test's clock; a restart sets `bootedAt`. */
  bootedAt = 0;

  constructor(private readonly clock?: FakeClock) {}

  async map(request: MappingRequest, extras: MappingExtras = {}): Promise<GrantedMapping> {
    this.calls.push(`map ${request.protocol}/${request.internalPort}->${request.suggestedExternalPort}${extras.preferFailure ? ' exact' : ''}`);
    const failure = this.failures.get(request.internalPort);
    if (failure) throw failure;
    if (this.via === 'nat-pmp' && extras.preferFailure) throw new GatewayRefusal('unsupported', 'nat-pmp', -1);
    const externalPort = this.via === 'nat-pmp' ? this.natPmpPort ?? request.suggestedExternalPort : request.suggestedExternalPort;
    return { via: this.via, protocol: request.protocol, internalPort: request.internalPort, externalPort, externalAddress: this.externalAddress, lifetimeSeconds: this.lifetimeSeconds, epochSeconds: Math.floor(((this.clock?.now() ?? 0) - this.bootedAt) / 1000) };
  }

  async unmap(request: { protocol: string; internalPort: number }): Promise<void> {
    this.calls.push(`unmap ${request.protocol}/${request.internalPort}`);
  }
}

const exposure = (port: number, over: Partial<NodeNatPlanExposure> = {}): NodeNatPlanExposure => ({
  policy: { namespace: 'shop', name: 'mapped' }, service: 'web', servicePort: 80, address: '172.18.0.3', port, protocol: 'TCP', sourceNAT: 'Masquerade',
  gatewayMapping: { externalPort: port }, ...over,
});

/** Nonces as a PCP client keeps them: one per mapping, made up on first use, or adopted. */
class FakeNonces {
  readonly byMapping = new Map<string, string>();
  private next = 0;
  get(m: { protocol: string; internalPort: number }): string | undefined {
    const key = `${m.protocol}/${m.internalPort}`;
    if (!this.byMapping.has(key)) this.byMapping.set(key, (this.next++).toString(16).padStart(24, 'a'));
    return this.byMapping.get(key);
  }
  adopt(m: { protocol: string; internalPort: number }, nonce: string): void {
    this.byMapping.set(`${m.protocol}/${m.internalPort}`, nonce);
  }
}

function setup(options: { connect?: () => Promise<GatewayConnection | undefined>; previouslyHeld?: HeldMapping[] } = {}) {
  const clock = new FakeClock();
  const mapper = new FakeMapper(clock);
  const nonces = new FakeNonces();
  let changes = 0;
  let held: readonly HeldMapping[] = [];
  const mappings = new GatewayMappings({
    connect: options.connect ?? (async () => ({ gateway: '172.18.0.254', mapper: new ExactPortMapper(mapper), nonces, close: () => {} })),
    ...(options.previouslyHeld ? { previouslyHeld: options.previouslyHeld } : {}),
    clock, lifetimeSeconds: 3600, retryMs: 60_000,
    onChange: () => { changes++; },
    onHeld: (h) => { held = h; },
  });
  return { clock, mapper, mappings, nonces, changes: () => changes, held: () => held };
}

describe('GatewayMappings', () => {
  it('asks for the exact external port, reports the external address, and renews at half the granted lifetime', async () => {
    const { clock, mapper, mappings, held } = setup();
    mappings.update([exposure(8080), exposure(9090, { gatewayMapping: undefined })]);
    expect(mappings.report()).toEqual([{ address: '172.18.0.3', port: 8080, protocol: 'TCP', state: 'Pending' }]);
    await clock.advance(0);
    expect(mappings.report()).toEqual([{ address: '172.18.0.3', port: 8080, protocol: 'TCP', state: 'Mapped', externalAddress: '11.18.0.1', externalPort: 8080, via: 'PCP', gateway: '172.18.0.254' }]);
    expect(held()).toEqual([{ gateway: '172.18.0.254', protocol: 'tcp', internalPort: 8080, nonce: 'aaaaaaaaaaaaaaaaaaaaaaa0' }]);
    await clock.advance(5000);
    await clock.advance(5000);
    expect(mapper.calls).toEqual(Array(3).fill('map tcp/8080->8080 exact'));
  });

  it('follows a new external address at the next renewal, and tells the agent', async () => {
    const { clock, mapper, mappings, changes } = setup();
    mappings.update([exposure(8080)]);
    await clock.advance(0);
    const before = changes();
    mapper.externalAddress = '11.18.0.2';
    await clock.advance(5000);
    expect(mappings.report()[0]).toMatchObject({ state: 'Mapped', externalAddress: '11.18.0.2' });
    expect(changes()).toBe(before + 1);
    await clock.advance(5000); // a renewal that changes nothing reports nothing
    expect(changes()).toBe(before + 1);
  });

  it('releases a mapping whose exposure left the plan, and forgets it', async () => {
    const { clock, mapper, mappings, held } = setup();
    mappings.update([exposure(8080), exposure(8081)]);
    await clock.advance(0);
    mappings.update([exposure(8081)]);
    await clock.advance(0);
    expect(mapper.calls).toContain('unmap tcp/8080');
    expect(mappings.report().map((r) => r.port)).toEqual([8081]);
    expect(held()).toEqual([expect.objectContaining({ gateway: '172.18.0.254', protocol: 'tcp', internalPort: 8081 })]);
    const calls = mapper.calls.length;
    await clock.advance(10_000);
    expect(mapper.calls.slice(calls)).toEqual(['map tcp/8081->8081 exact', 'map tcp/8081->8081 exact']);
  });

  it.each([
    ['the port is taken', new GatewayRefusal('port-unavailable', 'pcp', 11), 'PortTaken'],
    ['the gateway does not allow this node', new GatewayRefusal('not-authorized', 'pcp', 2), 'NotAuthorized'],
    ['nobody answers', new GatewayTimeout('nat-pmp', 5, 7750), 'NoGateway'],
  ])('reports a refusal by its reason (%s) and asks again later', async (_name, error, reason) => {
    const { clock, mapper, mappings } = setup();
    mapper.failures.set(8080, error);
    mappings.update([exposure(8080)]);
    await clock.advance(0);
    expect(mappings.report()[0]).toMatchObject({ state: 'Refused', reason });
    mapper.failures.delete(8080);
    await clock.advance(60_000);
    expect(mappings.report()[0]).toMatchObject({ state: 'Mapped', externalAddress: '11.18.0.1' });
  });

  it('keeps reporting Mapped while a failed renewal still has lifetime left', async () => {
    const { clock, mapper, mappings } = setup();
    mappings.update([exposure(8080)]);
    await clock.advance(0);
    mapper.failures.set(8080, new GatewayTimeout('pcp', 3, 3500));
    await clock.advance(5000);
    expect(mappings.report()[0]).toMatchObject({ state: 'Mapped' });
  });

  it('without a gateway (no default route) every mapping is NoGateway, until one appears', async () => {
    const found: { connection?: GatewayConnection } = {};
    const mapper = new FakeMapper();
    const { clock, mappings } = setup({ connect: async () => found.connection });
    mappings.update([exposure(8080)]);
    await clock.advance(0);
    expect(mappings.report()[0]).toMatchObject({ state: 'Refused', reason: 'NoGateway' });
    found.connection = { gateway: '172.18.0.254', mapper: new ExactPortMapper(mapper), close: () => {} };
    await clock.advance(60_000);
    expect(mappings.report()[0]).toMatchObject({ state: 'Mapped' });
  });

  it('NAT-PMP has no PREFER_FAILURE: a mapping on another port is given back and reported PortTaken', async () => {
    const { clock, mapper, mappings } = setup();
    mapper.via = 'nat-pmp';
    mapper.natPmpPort = 8081;
    mappings.update([exposure(8080)]);
    await clock.advance(0);
    expect(mappings.report()[0]).toMatchObject({ state: 'Refused', reason: 'PortTaken' });
    expect(mapper.calls).toEqual(['map tcp/8080->8080 exact', 'map tcp/8080->8080', 'unmap tcp/8080']);
    mapper.natPmpPort = undefined;
    await clock.advance(60_000);
    expect(mappings.report()[0]).toMatchObject({ state: 'Mapped', via: 'NAT-PMP', externalPort: 8080 });
  });

  it('stop leaves the mappings in place (an agent restart) and asks nothing more', async () => {
    const { clock, mapper, mappings } = setup();
    mappings.update([exposure(8080, { protocol: 'UDP' })]);
    await clock.advance(0);
    await mappings.stop();
    const calls = mapper.calls.length;
    await clock.advance(60_000);
    expect(mapper.calls.length).toBe(calls);
    expect(mapper.calls.some((c) => c.startsWith('unmap'))).toBe(false);
    expect(mapper.calls[0]).toBe('map udp/8080->8080 exact');
  });

  it('after a restart: adopts the nonces the previous agent held, and deletes what the plan no longer asks for', async () => {
    const previous: HeldMapping[] = [
      { gateway: '172.18.0.254', protocol: 'tcp', internalPort: 8080, nonce: '0123456789abcdef01234567' },
      { gateway: '172.18.0.254', protocol: 'tcp', internalPort: 9090, nonce: '76543210fedcba9876543210' },
    ];
    const { clock, mapper, mappings, nonces, held } = setup({ previouslyHeld: previous });
    mappings.update([exposure(8080)]);
    await clock.advance(0);
    expect(nonces.byMapping.get('tcp/8080')).toBe('0123456789abcdef01234567');
    expect(mapper.calls).toContain('unmap tcp/9090');
    expect(mapper.calls).not.toContain('unmap tcp/8080');
    expect(held()).toEqual([{ gateway: '172.18.0.254', protocol: 'tcp', internalPort: 8080, nonce: '0123456789abcdef01234567' }]);
  });

  it('after a restart, reports what the previous agent reported until the gateway answers (no Pending in between)', async () => {
    const clock = new FakeClock();
    const mapper = new FakeMapper();
    const reports: string[] = [];
    const previous = [{ address: '172.18.0.3', port: 8080, protocol: 'TCP' as const, state: 'Mapped' as const, externalAddress: '11.18.0.1', externalPort: 8080, via: 'PCP' as const, gateway: '172.18.0.254' }];
    const mappings: GatewayMappings = new GatewayMappings({
      connect: async () => ({ gateway: '172.18.0.254', mapper: new ExactPortMapper(mapper), close: () => {} }),
      clock, lifetimeSeconds: 3600, retryMs: 60_000, previousReport: () => previous,
      onChange: () => { reports.push(mappings.report().map((r) => r.state).join()); },
    });
    mappings.update([exposure(8080)]);
    expect(mappings.report()).toEqual(previous);
    await clock.advance(0);
    expect(mappings.report()).toEqual(previous);
    expect(reports.every((r) => r === 'Mapped')).toBe(true);
    // Later exposures start from Pending: the previous report is read at the first update only.
    mappings.update([exposure(8080), exposure(8081)]);
    expect(mappings.report().map((r) => r.state)).toEqual(['Mapped', 'Pending']);
  });

  it('renews every mapping at once when one answer\'s epoch shows the gateway restarted', async () => {
    const { clock, mapper, mappings } = setup();
    mapper.lifetimeSeconds = 600; // renewals at 300 s
    mapper.bootedAt = -3_600_000; // up for an hour
    mappings.update([exposure(8080), exposure(8081)]);
    await clock.advance(0);
    await clock.advance(100_000);
    mapper.bootedAt = clock.now(); // the gateway restarted: its epoch starts again
    const calls = mapper.calls.length;
    // Some answer must show the restart: a new exposure's first request is one.
    mappings.update([exposure(8080), exposure(8081), exposure(8082)]);
    await clock.advance(1000);
    expect(mapper.calls.slice(calls).sort()).toEqual(['map tcp/8080->8080 exact', 'map tcp/8081->8081 exact', 'map tcp/8082->8082 exact']);
    // Then each goes on at half its lifetime from that answer, not twice.
    await clock.advance(298_000);
    expect(mapper.calls.slice(calls)).toHaveLength(3);
    await clock.advance(1000);
    expect(mapper.calls.slice(calls)).toHaveLength(6);
  });

  it('an epoch that runs on does not renew the others early', async () => {
    const { clock, mapper, mappings } = setup();
    mapper.lifetimeSeconds = 600;
    mappings.update([exposure(8080), exposure(8081)]);
    await clock.advance(100_000);
    const calls = mapper.calls.length;
    mappings.update([exposure(8080), exposure(8081), exposure(8082)]);
    await clock.advance(1000);
    expect(mapper.calls.slice(calls)).toEqual(['map tcp/8082->8082 exact']);
  });

  it('UPnP IGD answers carry no epoch: never taken as a restart', async () => {
    const { clock, mapper, mappings } = setup();
    mapper.via = 'upnp-igd';
    mapper.lifetimeSeconds = 600;
    mapper.bootedAt = 1e12; // whatever the number says
    mappings.update([exposure(8080), exposure(8081)]);
    await clock.advance(100_000);
    const calls = mapper.calls.length;
    mappings.update([exposure(8080), exposure(8081), exposure(8082)]);
    await clock.advance(1000);
    expect(mapper.calls.slice(calls)).toEqual(['map tcp/8082->8082 exact']);
  });
});
