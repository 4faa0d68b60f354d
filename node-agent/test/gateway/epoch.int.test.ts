import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '@natplan/e2e/control-plane';
import { tcpProbe, type Miniupnpd } from '@natplan/e2e/netns';
import type { Host } from '@natplan/e2e/netns';
import type { NodeNatPlanExposure } from '@natplan/api';
import { PortMappingClient, systemClock } from '../../src/gateway/index.js';
import type { MappingExtras, PortMapper } from '../../src/gateway/client.js';
import { ExactPortMapper } from '../../src/gateway/exact-port.js';
import type { Datagrams } from '../../src/gateway/exchange.js';
import { GatewayMappings } from '../../src/gateway/mappings.js';
import { gatewayDatagrams } from '../../src/gateway/netns-socket.js';
import type { MappingRequest } from '../../src/gateway/types.js';
import { EXTERNAL, GATEWAY_LAN, NODE, startGatewayLan, stopGatewayLan, type GatewayLan } from './gateway-lan.js';

// The epoch check (RFC 6887 section 8.5) against a real miniupnpd: the agent's mappings
// (GatewayMappings over the PCP client, from the node's namespace as with --netns) hold a
// short lease and a long one; the gateway restarts with an empty ruleset; the short
// lease's next renewal shows the new epoch, and the long mapping is asked for again at
// once instead of at its own renewal, half its lifetime later. The network is
// gateway-lan.ts's.
const SHORT_PORT = 8080;
const LONG_PORT = 9090;
/** Seconds asked per port: renewals at 2 s for the short lease, at 60 s for the long one. */
const LIFETIMES: Record<number, number> = { [SHORT_PORT]: 4, [LONG_PORT]: 120 };

let lan: GatewayLan;
let node: Host;
let internet: Host;
let daemon: Miniupnpd;
let datagrams: Datagrams | undefined;

beforeAll(async () => {
  lan = await startGatewayLan({ miniupnpd: { maxLifetimeSeconds: 120 }, echoPorts: [SHORT_PORT, LONG_PORT] });
  ({ node, internet, daemon } = lan);
}, 60_000);

afterAll(async () => {
  datagrams?.close();
  await stopGatewayLan(lan);
});

/** The real client, with the lifetime asked per port (the agent asks one lifetime for all). */
class LifetimeByPort implements PortMapper {
  /** When each port was asked for (ms, this process's clock). */
  readonly asked: { port: number; at: number }[] = [];
  constructor(private readonly inner: PortMapper) {}
  map(request: MappingRequest, extras?: MappingExtras) {
    this.asked.push({ port: request.internalPort, at: Date.now() });
    return this.inner.map({ ...request, lifetimeSeconds: LIFETIMES[request.internalPort] ?? request.lifetimeSeconds }, extras);
  }
  unmap(request: Parameters<PortMapper['unmap']>[0]) {
    return this.inner.unmap(request);
  }
}

const exposure = (port: number): NodeNatPlanExposure => ({
  policy: { namespace: 'shop', name: 'mapped' }, service: 'web', servicePort: 80, address: NODE, port, protocol: 'TCP', sourceNAT: 'Masquerade',
  gatewayMapping: { externalPort: port },
});

async function reachable(port: number): Promise<boolean> {
  const [result] = await tcpProbe(internet, EXTERNAL, port, { timeoutMs: 1500 });
  return result?.ok === true && result.server === 'node';
}

const redirectTo = async (port: number) => (await daemon.redirects()).some((rule) => rule.includes(`dnat ip to ${NODE}:${port}`)) || undefined;

describe('a gateway restart seen in the epoch (RFC 6887 section 8.5)', () => {
  it('re-creates a long-lease mapping at the next exchange, well before its own renewal', async () => {
    datagrams = await gatewayDatagrams({ netns: node.namespace }, GATEWAY_LAN);
    const client = new PortMappingClient({ datagrams, clock: systemClock, randomNonce: () => new Uint8Array(12).fill(9), protocols: ['pcp'] });
    const mapper = new LifetimeByPort(client);
    const lost: string[] = [];
    const mappings = new GatewayMappings({
      connect: async () => ({ gateway: GATEWAY_LAN, mapper: new ExactPortMapper(mapper), close: () => {} }),
      clock: systemClock, lifetimeSeconds: 120, retryMs: 60_000, onChange: () => {},
      onStateLost: (gw) => lost.push(gw),
    });
    try {
      mappings.update([exposure(SHORT_PORT), exposure(LONG_PORT)]);
      await waitFor('both mapped', async () => mappings.report().every((r) => r.state === 'Mapped') || undefined, 15_000);
      expect(await reachable(LONG_PORT)).toBe(true);
      // A few short renewals first, so the gateway's epoch has counted some seconds.
      const shortAsked = () => mapper.asked.filter((a) => a.port === SHORT_PORT).length;
      await waitFor('three renewals of the short lease', async () => (shortAsked() >= 4 ? true : undefined), 30_000);
      expect(lost).toEqual([]); // an epoch that runs on is no loss
      const longAskedBefore = mapper.asked.filter((a) => a.port === LONG_PORT).length;
      expect(longAskedBefore).toBe(1);

      // A reboot: the daemon dies and the gateway comes back with an empty ruleset.
      await daemon.kill();
      await daemon.removeTable();
      await daemon.installTable();
      expect(await reachable(LONG_PORT)).toBe(false);
      await daemon.start();
      const restartedAt = Date.now();

      // The short lease renews within 2 s (or its retry does); its answer's epoch shows the loss.
      await waitFor('the long mapping back at the gateway', () => redirectTo(LONG_PORT), 15_000);
      const recreatedMs = Date.now() - restartedAt;
      expect(lost).toEqual([GATEWAY_LAN]);
      expect(mapper.asked.filter((a) => a.port === LONG_PORT)).toHaveLength(longAskedBefore + 1);
      // Not its own renewal (due 60 s after its grant; the wait above gives up at 15 s): the
      // loss the short lease's epoch showed made the agent ask again.
      expect(await reachable(LONG_PORT)).toBe(true);
      expect(await reachable(SHORT_PORT)).toBe(true);
      console.log(`long-lease mapping re-created ${recreatedMs} ms after the gateway restart (own renewal due at 60 s)`);
    } finally {
      mappings.update([]);
      await waitFor('the releases', async () => ((await daemon.redirects()).length === 0 ? true : undefined), 10_000).catch(() => undefined);
      await mappings.stop();
    }
  }, 60_000);
});
