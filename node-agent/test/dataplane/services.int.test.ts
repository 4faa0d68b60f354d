import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { holdConnections, tally, tcpProbe, udpProbe } from '@natplan/e2e/netns';
import type { Host, ProbeResult } from '@natplan/e2e/netns';
import { removeEverything } from '../../src/applier/index.js';
import type { Applier, ApplyResult } from '../../src/applier/types.js';
import type { Exec } from '../../src/exec/index.js';
import type { RenderInput } from '../../src/render/index.js';
import { BACKENDS } from './backends.js';
import type { BackendCase } from './backends.js';
import { ADDR, ADDR6, POD_UDP_ALT_PORT, buildCluster } from './cluster.js';
import type { Cluster } from './cluster.js';
import { dualStack, exposure, nodePlan, service } from './plans.js';
import type { ServiceEntry } from './plans.js';

// Every behaviour proven with real packets through the real kernel, in namespaces this
// test creates (see cluster.ts for the picture and e2e/netns/topology.ts for the ranges).

const baseline = (): ServiceEntry[] => [
  service('web', '10.96.0.10', ['a1', 'a2', 'b1'], (s) => {
    s.ports = [{ name: 'tcp', protocol: 'TCP', port: 80, nodePort: 30080 }, { name: 'udp', protocol: 'UDP', port: 53 }];
    s.externalIPs = ['192.0.2.10'];
    dualStack(s, 'fd00:10:96::a');
  }),
  service('lb', '10.96.0.11', ['a1', 'b1'], (s) => {
    s.loadBalancerIPs = ['198.51.100.7'];
    s.loadBalancerSourceRanges = ['203.0.113.0/24'];
  }),
  service('sticky', '10.96.0.12', ['a1', 'a2', 'b1'], (s) => { s.sessionAffinity = { type: 'ClientIP', timeoutSeconds: 600 }; }),
  service('local', '10.96.0.13', ['a1'], (s) => {
    s.ports = [{ name: 'tcp', protocol: 'TCP', port: 80, nodePort: 30013 }];
    s.externalTrafficPolicy = 'Local';
  }),
  service('empty', '10.96.0.14', []),
  service('hairpin', '10.96.0.15', ['a1']),
  service('dns', '10.96.0.16', ['a1']),
];

const exposuresOnA = () => [exposure('web', ADDR.nodeA, 8080, (x) => { x.sourceRanges = ['203.0.113.0/24']; })];

function inputFor(node: 'node-a' | 'node-b', services: ServiceEntry[]): RenderInput {
  return {
    node: nodePlan(node, (n) => { if (node === 'node-a') n.exposures = exposuresOnA(); }),
    services,
    identity: { nodeName: node, zone: node === 'node-a' ? 'zone-1' : 'zone-2' },
  };
}

type From = 'client' | 'client6' | 'outsider' | 'nodeA' | 'podA1' | 'podB1';
type Expect =
  | { servers: string[]; sticky?: true; seen?: 'client' | 'notSelf' }
  /** TCP RST or ICMP port unreachable: ECONNREFUSED. */
  | 'refused'
  /** Silently dropped by our rules: a timeout (an unNATed packet would get ENETUNREACH from gw). */
  | 'dropped';
interface Row { name: string; from: From; to: string; port: number; count: number; udp?: true; expect: Expect }

const ALL = ['pod-a1', 'pod-a2', 'pod-b1'];
const rows: Row[] = [
  { name: 'ClusterIP from a pod spreads over all endpoints', from: 'podB1', to: '10.96.0.10', port: 80, count: 30, expect: { servers: ALL } },
  { name: 'ClusterIP from a node spreads over all endpoints', from: 'nodeA', to: '10.96.0.10', port: 80, count: 30, expect: { servers: ALL } },
  { name: 'ClusterIP over UDP', from: 'podB1', to: '10.96.0.10', port: 53, count: 3, udp: true, expect: { servers: ALL, sticky: true } },
  { name: 'IPv6 ClusterIP from a pod spreads over all endpoints', from: 'podB1', to: 'fd00:10:96::a', port: 80, count: 30, expect: { servers: ALL } },
  { name: 'IPv6 NodePort from the outside client', from: 'client6', to: ADDR6.nodeA, port: 30080, count: 30, expect: { servers: ALL } },
  { name: 'NodePort from the outside client spreads over all endpoints', from: 'client', to: ADDR.nodeA, port: 30080, count: 30, expect: { servers: ALL } },
  { name: 'NodePort on the other node', from: 'client', to: ADDR.nodeB, port: 30080, count: 30, expect: { servers: ALL } },
  { name: 'external IP from the outside client', from: 'client', to: '192.0.2.10', port: 80, count: 30, expect: { servers: ALL } },
  { name: 'load-balancer IP from an allowed source', from: 'client', to: '198.51.100.7', port: 80, count: 20, expect: { servers: ['pod-a1', 'pod-b1'] } },
  { name: 'load-balancer IP blocks a source outside the ranges', from: 'outsider', to: '198.51.100.7', port: 80, count: 2, expect: 'dropped' },
  { name: 'ClientIP affinity sticks to one endpoint', from: 'podB1', to: '10.96.0.12', port: 80, count: 20, expect: { servers: ALL, sticky: true } },
  { name: 'Local policy keeps the client address', from: 'client', to: ADDR.nodeA, port: 30013, count: 5, expect: { servers: ['pod-a1'], seen: 'client' } },
  { name: 'Local policy drops on a node without local endpoints', from: 'client', to: ADDR.nodeB, port: 30013, count: 2, expect: 'dropped' },
  { name: 'a Service without endpoints refuses the connection (from a pod)', from: 'podB1', to: '10.96.0.14', port: 80, count: 2, expect: 'refused' },
  { name: 'a Service without endpoints refuses the connection (from a node)', from: 'nodeA', to: '10.96.0.14', port: 80, count: 2, expect: 'refused' },
  // Without this drop the packet would be routed on and answered "network unreachable".
  { name: 'a packet to an unallocated cluster IP is dropped', from: 'podB1', to: '10.96.0.99', port: 80, count: 2, expect: 'dropped' },
  { name: 'hairpin: a pod reaches itself through its Service', from: 'podA1', to: '10.96.0.15', port: 80, count: 3, expect: { servers: ['pod-a1'], seen: 'notSelf' } },
  { name: 'NAT exposure reachable from an allowed client', from: 'client', to: ADDR.nodeA, port: 8080, count: 30, expect: { servers: ALL } },
  { name: 'NAT exposure blocks a source outside its ranges', from: 'outsider', to: ADDR.nodeA, port: 8080, count: 2, expect: 'dropped' },
];

/**
 * Wraps an Exec so that, once armed, the next ruleset it sends (nft -f, iptables-restore)
 * carries a line the tool rejects, inserted before any COMMIT: the whole run must fail.
 */
function faultyExec(inner: Exec): { exec: Exec; arm(): void } {
  let armed = false;
  const exec: Exec = {
    target: inner.target,
    run: (argv, options = {}) => {
      // The kernel checks (`nft --check`, restores of `-C` lines) are not commits: let them pass.
      if (!armed || !options.stdin || argv.includes('--check') || /^-C /m.test(options.stdin)) return inner.run(argv, options);
      armed = false;
      const [first, ...rest] = options.stdin.split('\n');
      return inner.run(argv, { ...options, stdin: [first, 'this is not a rule', ...rest].join('\n') });
    },
  };
  return { exec, arm: () => { armed = true; } };
}

describe.each(BACKENDS)('dataplane: $name', (backend: BackendCase) => {
  let cluster: Cluster;
  let appliers: { a: Applier<RenderInput>; b: Applier<RenderInput> };
  let services: ServiceEntry[];

  const applyBoth = async (): Promise<[ApplyResult, ApplyResult]> => {
    const results = await Promise.all([appliers.a.apply(inputFor('node-a', services)), appliers.b.apply(inputFor('node-b', services))]);
    for (const r of results) if (!r.ok) throw new Error(r.reason);
    return results;
  };

  const host = (from: From): { host: Host; bind?: string } => {
    switch (from) {
      case 'client': return { host: cluster.client, bind: ADDR.client };
      case 'client6': return { host: cluster.client, bind: ADDR6.client };
      case 'outsider': return { host: cluster.client, bind: ADDR.outsider };
      case 'nodeA': return { host: cluster.nodeA };
      case 'podA1': return { host: cluster.pods.a1 };
      case 'podB1': return { host: cluster.pods.b1 };
    }
  };

  beforeAll(async () => {
    cluster = await buildCluster();
    appliers = { a: backend.create(cluster.nodeA.exec), b: backend.create(cluster.nodeB.exec) };
    services = baseline();
    const [a, b] = await applyBoth();
    expect([a.mode, b.mode]).toEqual(['full', 'full']);
  });
  afterAll(async () => { await cluster?.destroy(); });

  it.each(rows)('$name', async (row) => {
    const { host: from, bind } = host(row.from);
    const dropped = row.expect === 'dropped';
    // A lost first SYN (e.g. IPv6 neighbour discovery on a loaded machine) is retransmitted
    // after 1 s and again at 3 s: 3.5 s lets TCP recover as it would for a real client,
    // while a broken path still fails every connection.
    const options = { count: row.count, timeoutMs: dropped ? 400 : 3500, ...(bind ? { bind } : {}) };
    const results: ProbeResult[] = row.udp
      ? await udpProbe(from, row.to, row.port, options)
      : await tcpProbe(from, row.to, row.port, options);
    const expected = row.expect;
    if (expected === 'refused') expect(tally(results)).toEqual({ 'error:ECONNREFUSED': row.count });
    else if (expected === 'dropped') expect(tally(results)).toEqual({ 'error:timeout': row.count });
    else {
      expect(results.filter((r) => !r.ok)).toEqual([]);
      const seen = new Set(results.map((r) => (r.ok ? r.server : '')));
      if (expected.sticky) expect(seen.size).toBe(1);
      else expect([...seen].sort()).toEqual(expected.servers);
      for (const server of seen) expect(expected.servers).toContain(server);
      for (const r of results) {
        if (!r.ok) continue;
        if (expected.seen === 'client') expect(r.seen).toBe(bind);
        if (expected.seen === 'notSelf') expect(r.seen).not.toBe(ADDR.podA1);
      }
    }
  });


  it('moves a UDP flow to the new endpoint once the old one is removed (conntrack cleanup)', async () => {
    // Service dns-alt is the only user of UDP 5354 on the pods, so its endpoints are
    // stale the moment it drops them, whatever the other Services do.
    const dnsAlt = (pod: 'a1' | 'a2') => service('dns-alt', '10.96.0.17', [pod], (s) => {
      s.ports = [{ name: 'udp', protocol: 'UDP', port: 53 }];
      for (const e of s.endpoints ?? []) e.ports = [{ name: 'udp', port: POD_UDP_ALT_PORT }];
    });
    services = [...services, dnsAlt('a1')];
    await applyBoth();
    const flow = { count: 3, sourcePort: 40054 };
    expect(tally(await udpProbe(cluster.pods.b1, '10.96.0.17', 53, flow))).toEqual({ 'pod-a1': 3 });
    services = services.map((s) => (s.name === 'dns-alt' ? dnsAlt('a2') : s));
    const [, onB] = await applyBoth();
    expect(onB.ok && onB.staleUdpCleared).toContainEqual(expect.objectContaining({ address: ADDR.podA1, port: POD_UDP_ALT_PORT }));
    // pod-a1 still answers on 5354: only a deleted conntrack entry sends the same flow elsewhere.
    expect(tally(await udpProbe(cluster.pods.b1, '10.96.0.17', 53, flow))).toEqual({ 'pod-a2': 3 });
  });

  it('moves a UDP flow even when the removed endpoint still serves another Service', async () => {
    // pod-a1:5353 stays an endpoint of `web`; its flows through `dns` are stale all the same.
    const flow = { count: 3, sourcePort: 40053 };
    expect(tally(await udpProbe(cluster.pods.b1, '10.96.0.16', 53, flow))).toEqual({ 'pod-a1': 3 });
    services = services.map((s) => (s.name === 'dns' ? service('dns', '10.96.0.16', ['a2']) : s));
    await applyBoth();
    expect(tally(await udpProbe(cluster.pods.b1, '10.96.0.16', 53, flow))).toEqual({ 'pod-a2': 3 });
  });

  it('keeps the previous rules when a sync fails, reports the tool error, and recovers with a full sync', async () => {
    const faulty = faultyExec(cluster.nodeA.exec);
    const applier = backend.create(faulty.exec);
    expect(await applier.apply(inputFor('node-a', services))).toMatchObject({ ok: true, mode: 'full' });
    const web = services.find((s) => s.name === 'web');
    const onlyB1 = services.map((s) => (s === web ? service('web', '10.96.0.10', ['b1'], (x) => {
      x.ports = web.spec.ports ?? [];
      x.externalIPs = web.spec.externalIPs ?? [];
    }) : s));
    faulty.arm();
    const failed = await applier.apply(inputFor('node-a', onlyB1));
    expect(failed).toMatchObject({ ok: false, error: { kind: 'invalid' } });
    expect(!failed.ok && failed.reason).toMatch(/^ApplyFailed/);
    // Still the old rules: all three endpoints answer through node-a.
    expect(Object.keys(tally(await tcpProbe(cluster.client, ADDR.nodeA, 30080, { count: 30 }))).sort()).toEqual(ALL);
    expect(await applier.apply(inputFor('node-a', onlyB1))).toMatchObject({ ok: true, mode: 'full' });
    expect(tally(await tcpProbe(cluster.client, ADDR.nodeA, 30080, { count: 10 }))).toEqual({ 'pod-b1': 10 });
    expect(await applier.apply(inputFor('node-a', services))).toMatchObject({ ok: true, mode: 'incremental' });
    appliers.a = applier;
  });

  it('repairs rules flushed behind its back at the periodic full sync', async () => {
    let clock = 0;
    const applier = backend.create(cluster.nodeA.exec, { now: () => clock, fullSyncIntervalMs: 60_000 });
    expect(await applier.apply(inputFor('node-a', services))).toMatchObject({ ok: true, mode: 'full' });
    await backend.sabotage(cluster.nodeA);
    expect((await tcpProbe(cluster.client, ADDR.nodeA, 30080, { count: 1, timeoutMs: 400 }))[0]?.ok).toBe(false);
    clock += 60_000;
    expect(await applier.apply(inputFor('node-a', services))).toMatchObject({ ok: true, mode: 'full' });
    expect(tally(await tcpProbe(cluster.client, ADDR.nodeA, 30080, { count: 3 }))['error:timeout']).toBeUndefined();
    appliers.a = applier;
  });

  it('restarts the agent under continuous traffic without losing a connection', async () => {
    const traffic = await holdConnections(cluster.client, ADDR.nodeA, 30080, { connections: 20, intervalMs: 40, durationMs: 2500 });
    await new Promise((resolve) => setTimeout(resolve, 500));
    // A new process: fresh appliers with no memory, starting with their full sync.
    appliers = { a: backend.create(cluster.nodeA.exec), b: backend.create(cluster.nodeB.exec) };
    const [a, b] = await applyBoth();
    expect([a.mode, b.mode]).toEqual(['full', 'full']);
    const summary = await traffic.done;
    expect(summary).toMatchObject({ brokenAtStart: 0, pingFailures: 0, closedEarly: 0, newFailed: 0 });
    expect(summary.pings).toBeGreaterThan(20 * 10);
  });

  it('cleanup removes everything it installed, and Services stop working', async () => {
    const report = await removeEverything(cluster.nodeA.exec);
    expect(report).toMatchObject({ cleaned: ['nftables', 'iptables', 'iptables-legacy'], errors: [] });
    const leftovers = [
      (await cluster.nodeA.run(['nft', 'list', 'ruleset'])).stdout,
      (await cluster.nodeA.run(['iptables-save'])).stdout,
      (await cluster.nodeA.run(['iptables-legacy-save'])).stdout,
    ].join('\n');
    expect(leftovers).not.toMatch(/natplan/i);
    expect((await tcpProbe(cluster.client, ADDR.nodeA, 30080, { count: 1, timeoutMs: 400 })).filter((r) => r.ok)).toEqual([]);
  });
});
