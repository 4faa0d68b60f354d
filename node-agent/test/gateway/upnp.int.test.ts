import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tcpProbe, type Miniupnpd } from '@natplan/e2e/netns';
import type { Host } from '@natplan/e2e/netns';
import { createExec } from '../../src/exec/index.js';
import { PortMappingClient, systemClock } from '../../src/gateway/index.js';
import { ExactPortMapper } from '../../src/gateway/exact-port.js';
import { FallbackMapper } from '../../src/gateway/fallback.js';
import { gatewayDatagrams } from '../../src/gateway/netns-socket.js';
import { releaseHeldMappings, writeHeldMappings } from '../../src/gateway/held-file.js';
import { GatewayRefusal } from '../../src/gateway/types.js';
import { execHttp } from '../../src/gateway/upnp-http.js';
import { SSDP_PORT, UpnpIgdMapper } from '../../src/gateway/upnp.js';
import type { Datagrams } from '../../src/gateway/exchange.js';
import { EXTERNAL, GATEWAY_LAN, NODE, startGatewayLan, stopGatewayLan, type GatewayLan } from './gateway-lan.js';

// UPnP IGD, the last fallback, against a real miniupnpd that speaks only UPnP (NAT-PMP and
// PCP off): the agent's mapper stack (PCP/NAT-PMP first, then UPnP) run from the node's
// namespace, as the agent does with --netns. The network is gateway-lan.ts's, with
// another LAN host (172.18.0.3).

let lan: GatewayLan;
let node: Host;
let other: Host;
let internet: Host;
let daemon: Miniupnpd;
const sockets: Datagrams[] = [];

beforeAll(async () => {
  lan = await startGatewayLan({ others: { other: '172.18.0.3' }, miniupnpd: { maxLifetimeSeconds: 60, natpmp: false, upnp: true }, echoPorts: [8080, 9090] });
  ({ node, internet, daemon } = lan);
  other = lan.others.other!;
}, 60_000);

afterAll(async () => {
  for (const s of sockets) s.close();
  await stopGatewayLan(lan);
});

async function mapperStack(from: Host = node) {
  const target = { netns: from.namespace };
  const pcp = await gatewayDatagrams(target, GATEWAY_LAN);
  const ssdp = await gatewayDatagrams(target, GATEWAY_LAN, SSDP_PORT);
  sockets.push(pcp, ssdp);
  const client = new PortMappingClient({ datagrams: pcp, clock: systemClock, randomNonce: () => new Uint8Array(12).fill(7), pcpRetransmit: { initialMs: 200, maxAttempts: 2 }, natPmpRetransmit: { initialMs: 200, maxAttempts: 2 } });
  const upnp = new UpnpIgdMapper({ ssdp, http: execHttp(createExec(target)), clock: systemClock, internalClient: pcp.localAddress() });
  return new FallbackMapper([new ExactPortMapper(client), upnp]);
}

const reachable = async (port: number) => (await tcpProbe(internet, EXTERNAL, port, { timeoutMs: 1500 }))[0]?.ok === true;

describe('UPnP IGD, the last fallback, against a real miniupnpd', () => {
  it('maps when neither PCP nor NAT-PMP answers, finds the external address, and deletes', async () => {
    const mapper = await mapperStack();
    expect(await reachable(8080)).toBe(false);
    const granted = await mapper.map({ protocol: 'tcp', internalPort: 8080, suggestedExternalPort: 8080, lifetimeSeconds: 120 }, { preferFailure: true });
    expect(granted).toMatchObject({ via: 'upnp-igd', externalAddress: EXTERNAL, externalPort: 8080 });
    expect(await daemon.redirects()).toEqual([expect.stringContaining(`dnat ip to ${NODE}:8080`)]);
    expect(await reachable(8080)).toBe(true);
    // A renewal is the same request again.
    await mapper.map({ protocol: 'tcp', internalPort: 8080, suggestedExternalPort: 8080, lifetimeSeconds: 120 });
    expect(await daemon.redirects()).toHaveLength(1);
    await mapper.unmap({ protocol: 'tcp', internalPort: 8080 });
    expect(await daemon.redirects()).toEqual([]);
    expect(await reachable(8080)).toBe(false);
  });

  it('an external port another host holds is refused as taken (718), not moved', async () => {
    const theirs = await mapperStack(other);
    await theirs.map({ protocol: 'tcp', internalPort: 9090, suggestedExternalPort: 7000, lifetimeSeconds: 120 });
    const mapper = await mapperStack();
    const refusal = await mapper.map({ protocol: 'tcp', internalPort: 8080, suggestedExternalPort: 7000, lifetimeSeconds: 120 }, { preferFailure: true }).catch((e: unknown) => e);
    expect(refusal).toBeInstanceOf(GatewayRefusal);
    expect(refusal).toMatchObject({ reason: 'port-unavailable', via: 'upnp-igd', resultCode: 718 });
    expect(await daemon.redirects()).toEqual([expect.stringContaining('dnat ip to 172.18.0.3:9090')]);
    await theirs.unmap({ protocol: 'tcp', internalPort: 9090 });
    expect(await daemon.redirects()).toEqual([]);
  });

  it('natplan cleanup deletes a mapping UPnP granted, over UPnP (the list says via upnp-igd)', async () => {
    const mapper = await mapperStack();
    await mapper.map({ protocol: 'tcp', internalPort: 8080, suggestedExternalPort: 8080, lifetimeSeconds: 120 }, { preferFailure: true });
    expect(await daemon.redirects()).toHaveLength(1);
    const dir = await mkdtemp(join(tmpdir(), 'natplan-upnp-'));
    try {
      const file = join(dir, 'gateway-mappings.json');
      await writeHeldMappings(file, [{ gateway: GATEWAY_LAN, protocol: 'tcp', internalPort: 8080, via: 'upnp-igd' }]);
      const result = await releaseHeldMappings({ netns: node.namespace }, file);
      expect(result).toEqual({ released: 1, errors: [] });
      expect(await daemon.redirects()).toEqual([]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
