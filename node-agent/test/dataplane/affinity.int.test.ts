import { describe, expect, it } from 'vitest';
import { tally, tcpProbe } from '@natplan/e2e/netns';
import type { Host } from '@natplan/e2e/netns';
import { BACKENDS } from './backends.js';
import type { BackendCase } from './backends.js';
import { ADDR } from './cluster.js';
import { useDataplane } from './parity-harness.js';
import { service } from './plans.js';

// Session affinity (ClientIP) with real packets: one client sticks to one endpoint, the
// memory expires after timeoutSeconds, and distinct clients are balanced independently.
// Clients are extra addresses of the outside client (203.0.113.31-42, from the client
// range fixed in e2e/netns/topology.ts) reaching the NodePort on node-a.

const TIMEOUT_SECONDS = 2;
const NODE_PORT = 30020;
const CLIENTS = Array.from({ length: 12 }, (_, i) => `203.0.113.${31 + i}`);
const ALL = ['pod-a1', 'pod-a2', 'pod-b1'];

const sticky = () => [service('sticky', '10.96.0.20', ['a1', 'a2', 'b1'], (s) => {
  s.ports = [{ name: 'tcp', protocol: 'TCP', port: 80, nodePort: NODE_PORT }];
  s.sessionAffinity = { type: 'ClientIP', timeoutSeconds: TIMEOUT_SECONDS };
})];

async function addClientAddresses(client: Host, nodes: Host[]): Promise<void> {
  for (const address of CLIENTS) await client.ip('address', 'add', `${address}/32`, 'dev', 'eth1');
  for (const node of nodes) for (const address of CLIENTS) await node.ip('route', 'add', address, 'dev', 'eth1');
}

/** The servers `count` sequential connections from `bind` reached. */
async function serversSeenBy(client: Host, bind: string, count: number): Promise<string[]> {
  const results = await tcpProbe(client, ADDR.nodeA, NODE_PORT, { count, bind, timeoutMs: 3500 });
  expect(results.filter((r) => !r.ok)).toEqual([]);
  return [...new Set(results.map((r) => (r.ok ? r.server : '')))].sort();
}

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe.each(BACKENDS)('session affinity: $name', (backend: BackendCase) => {
  const dp = useDataplane(backend, (c) => addClientAddresses(c.client, [c.nodeA, c.nodeB, c.gw]));

  it('without affinity the same client spreads over the endpoints (the control)', async () => {
    await dp.apply(sticky().map((s) => ({ ...s, spec: { ...s.spec, sessionAffinity: { type: 'None' as const } } })));
    expect(await serversSeenBy(dp.cluster.client, CLIENTS[0] as string, 30)).toEqual(ALL);
  });

  it('the same client sticks to one endpoint, also when it comes back within the timeout', async () => {
    await dp.apply(sticky());
    const client = CLIENTS[0] as string;
    const first = await serversSeenBy(dp.cluster.client, client, 20);
    expect(first).toHaveLength(1);
    // Each connection refreshes the memory: pauses shorter than the timeout never break it.
    // A quarter of it, so that starting the probe process on a loaded machine stays well inside.
    for (let round = 0; round < 3; round++) {
      await pause((TIMEOUT_SECONDS * 1000) / 4);
      expect(await serversSeenBy(dp.cluster.client, client, 3)).toEqual(first);
    }
  });

  it('other clients are balanced over the endpoints, each sticking to its own', async () => {
    await dp.apply(sticky());
    const chosen = new Set<string>();
    for (const client of CLIENTS) {
      const seen = await serversSeenBy(dp.cluster.client, client, 4);
      expect(seen, client).toHaveLength(1);
      chosen.add(seen[0] as string);
    }
    // 12 clients on one endpoint by chance: 3 x (1/3)^12, about 6 in a million.
    expect(chosen.size).toBeGreaterThanOrEqual(2);
  });

  it('the memory expires after timeoutSeconds: the client is balanced afresh', async () => {
    await dp.apply(sticky());
    const client = CLIENTS[1] as string;
    const sticking = await serversSeenBy(dp.cluster.client, client, 5);
    expect(sticking).toHaveLength(1);
    const first = sticking[0] as string;
    // The behaviour is a timeout, so time is the condition: after each quiet period longer
    // than the timeout the next connection is balanced again and lands elsewhere with
    // probability 2/3; 8 rounds all on `first` by chance is (1/3)^8, about 1.5e-4.
    // With a memory that never expired every round would stay on `first`.
    const rounds: string[] = [];
    for (let round = 0; round < 8 && !rounds.some((s) => s !== first); round++) {
      await pause(TIMEOUT_SECONDS * 1000 + 1100);
      rounds.push(...Object.keys(tally(await tcpProbe(dp.cluster.client, ADDR.nodeA, NODE_PORT, { count: 1, bind: client, timeoutMs: 3500 }))));
    }
    expect(rounds.filter((s) => !ALL.includes(s))).toEqual([]);
    expect(rounds.some((s) => s !== first), `every round after the timeout went to ${first}`).toBe(true);
  });
});
