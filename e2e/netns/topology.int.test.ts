import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildCluster } from '@natplan/node-agent/testing';
import type { Cluster } from '@natplan/node-agent/testing';
import { listNamespaces, sweepStaleNamespaces } from './names.js';
import { Topology } from './topology.js';
import { tally, tcpProbe, udpProbe } from './traffic.js';

// The harness itself, without any NAT rules: plain routed traffic between namespaces.
describe('netns topology', () => {
  let cluster: Cluster;
  beforeAll(async () => { cluster = await buildCluster(); });
  afterAll(async () => { await cluster?.destroy(); });

  it('routes the client to a pod, and the pod sees the client address', async () => {
    expect(await tcpProbe(cluster.client, '10.244.2.9', 8080)).toEqual([{ ok: true, server: 'pod-b1', seen: '203.0.113.10' }]);
  });

  it('routes pod to pod across nodes over TCP and UDP', async () => {
    expect(await tcpProbe(cluster.pods.a1, '10.244.2.9', 8080)).toEqual([{ ok: true, server: 'pod-b1', seen: '10.244.1.5' }]);
    expect(await udpProbe(cluster.pods.b1, '10.244.1.6', 5353, { count: 2 })).toEqual([
      { ok: true, server: 'pod-a2', seen: '10.244.2.9' }, { ok: true, server: 'pod-a2', seen: '10.244.2.9' },
    ]);
  });

  it('binds a chosen client source address', async () => {
    expect(await tcpProbe(cluster.client, '10.244.1.5', 8080, { bind: '192.0.2.66' })).toEqual([{ ok: true, server: 'pod-a1', seen: '192.0.2.66' }]);
  });

  it('reports refused, unreachable and silently dropped connections distinctly', async () => {
    expect(tally(await tcpProbe(cluster.client, '10.244.1.5', 9, { count: 1 }))).toEqual({ 'error:ECONNREFUSED': 1 });
    // The nodes' default route leads to gw, which answers "network unreachable"...
    expect(tally(await tcpProbe(cluster.pods.a1, '10.244.8.9', 8080, { timeoutMs: 1000 }))).toEqual({ 'error:ENETUNREACH': 1 });
    // ...unless it has a blackhole route: then the packet vanishes.
    await cluster.gw.ip('route', 'add', 'blackhole', '10.244.9.0/24');
    expect(tally(await tcpProbe(cluster.pods.a1, '10.244.9.9', 8080, { timeoutMs: 300 }))).toEqual({ 'error:timeout': 1 });
  });

  it('creates every namespace under this run\'s prefix', async () => {
    const mine = cluster.topology.hosts.map((h) => h.namespace);
    expect(mine.every((n) => n.startsWith(`np-${process.pid}-`))).toBe(true);
    expect(await listNamespaces()).toEqual(expect.arrayContaining(mine));
  });
});

describe('teardown', () => {
  it('removes namespaces and kills processes on destroy', async () => {
    const topology = await Topology.create();
    const host = await topology.addHost('solo');
    const sleeper = host.spawn(['sleep', '60']);
    await topology.destroy();
    expect((await sleeper.exited()).code).toBeNull();
    expect(await listNamespaces()).not.toContain(host.namespace);
  });

  it('sweeps namespaces left by a dead process and leaves live ones', async () => {
    const dead = 'np-999999-1-stale';
    const live = `np-${process.pid}-0-live`;
    const { createExec } = await import('@natplan/node-agent/exec');
    const host = createExec('host');
    await host.run(['ip', 'netns', 'add', dead]);
    await host.run(['ip', 'netns', 'add', live]);
    try {
      expect(await sweepStaleNamespaces()).toContain(dead);
      const left = await listNamespaces();
      expect(left).not.toContain(dead);
      expect(left).toContain(live);
    } finally {
      await host.run(['ip', 'netns', 'del', live]);
      await host.run(['ip', 'netns', 'del', dead]).catch(() => undefined);
    }
  });
});
