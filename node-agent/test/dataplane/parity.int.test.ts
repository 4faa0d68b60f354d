import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tally, tcpProbe, udpProbe } from '@natplan/e2e/netns';
import type { Host, ProbeResult } from '@natplan/e2e/netns';
import type { Applier } from '../../src/applier/types.js';
import type { RenderInput } from '../../src/render/index.js';
import { BACKENDS } from './backends.js';
import type { BackendCase } from './backends.js';
import { ADDR, buildCluster } from './cluster.js';
import type { Cluster } from './cluster.js';
import { nodePlan, service } from './plans.js';
import type { ServiceEntry } from './plans.js';

// kube-proxy parity (its nftables mode is the reference), proven with real packets through
// the real kernel on every backend, in namespaces this test creates (see cluster.ts):
//   1. a cluster IP refuses the ports and protocols its Service does not serve, while an
//      external or load-balancer IP lets them through untranslated;
//   2. with loadBalancerSourceRanges, the load-balancer IP itself is an allowed source;
//   3. externalTrafficPolicy Local without a local endpoint still short-circuits this
//      node's pods and processes to the endpoints elsewhere; only external clients drop.

/** Held as local addresses by node-a, as a VIP-style load balancer (MetalLB L2, kube-vip) does. */
const FIREWALLED_LB_IP = '198.51.100.8';
const LOCAL_POLICY_LB_IP = '198.51.100.13';

const services = (): ServiceEntry[] => [
  // TCP 80 and UDP 53 only.
  service('web', '10.96.0.10', ['a1', 'b1'], (s) => {
    s.externalIPs = ['192.0.2.10'];
    s.loadBalancerIPs = ['198.51.100.7'];
  }),
  service('firewalled', '10.96.0.11', ['a1', 'b1'], (s) => {
    s.ports = [{ name: 'tcp', protocol: 'TCP', port: 80 }];
    s.loadBalancerIPs = [FIREWALLED_LB_IP];
    s.loadBalancerSourceRanges = ['203.0.113.0/24'];
  }),
  // Its only endpoint is on node-b: node-a has none for Local traffic.
  service('remote-only', '10.96.0.13', ['b1'], (s) => {
    s.ports = [{ name: 'tcp', protocol: 'TCP', port: 80, nodePort: 30013 }];
    s.externalIPs = ['192.0.2.13'];
    s.loadBalancerIPs = [LOCAL_POLICY_LB_IP];
    s.externalTrafficPolicy = 'Local';
  }),
];

function inputFor(node: 'node-a' | 'node-b'): RenderInput {
  // NodeCIDR: only this node's pods are local, so a pod of another node is an external
  // client here (with ClusterCIDR it is short-circuited too; see local-traffic.int.test.ts).
  const plan = nodePlan(node, (n) => { n.localTraffic = { mode: 'NodeCIDR', cidrs: n.podCIDRs ?? [] }; });
  return { node: plan, services: services(), identity: { nodeName: node, zone: node === 'node-a' ? 'zone-1' : 'zone-2' } };
}

type From = 'client' | 'outsider' | 'nodeA' | 'nodeAFromNodeIP' | 'nodeAFromLbIP' | 'nodeAFromLocalPolicyLbIP' | 'podA1' | 'podB1';
type Expect =
  /** Answered by these pods; `seen`: the client address every answer reports. */
  | { servers: string[]; seen?: string }
  /** TCP RST or ICMP port unreachable: ECONNREFUSED. */
  | 'refused'
  /** Dropped by our rules: a timeout (EPERM when the node's own packet is dropped in output). */
  | 'dropped'
  /** Passed on unchanged: the gateway, which has no route for it, answers network unreachable. */
  | 'untranslated';
interface Row { name: string; from: From; to: string; port: number; udp?: true; expect: Expect }

const BOTH = ['pod-a1', 'pod-b1'];
const rows: Row[] = [
  // 1. Wrong port or protocol on an allocated cluster IP.
  { name: 'cluster IP, wrong TCP port, from a pod: refused', from: 'podB1', to: '10.96.0.10', port: 81, expect: 'refused' },
  { name: 'cluster IP, wrong TCP port, from the node: refused', from: 'nodeA', to: '10.96.0.10', port: 81, expect: 'refused' },
  { name: 'cluster IP, wrong TCP port, from outside the cluster: refused', from: 'client', to: '10.96.0.10', port: 81, expect: 'refused' },
  { name: 'cluster IP, wrong UDP port: refused (ICMP port unreachable)', from: 'podB1', to: '10.96.0.10', port: 54, udp: true, expect: 'refused' },
  { name: 'cluster IP, UDP to a TCP-only port: refused', from: 'podB1', to: '10.96.0.10', port: 80, udp: true, expect: 'refused' },
  { name: 'cluster IP, TCP to a UDP-only port: refused', from: 'podB1', to: '10.96.0.10', port: 53, expect: 'refused' },
  { name: 'cluster IP, served port still works', from: 'podB1', to: '10.96.0.10', port: 80, expect: { servers: BOTH } },
  { name: 'unallocated cluster IP: still dropped', from: 'podB1', to: '10.96.0.99', port: 80, expect: 'dropped' },
  { name: 'external IP, wrong port: passed through untranslated', from: 'client', to: '192.0.2.10', port: 81, expect: 'untranslated' },
  { name: 'load-balancer IP, wrong port: passed through untranslated', from: 'client', to: '198.51.100.7', port: 81, expect: 'untranslated' },
  // 2. The load-balancer IP as source.
  { name: 'firewalled LB IP: the node connecting from the LB IP it holds is allowed', from: 'nodeAFromLbIP', to: FIREWALLED_LB_IP, port: 80, expect: { servers: BOTH } },
  { name: 'firewalled LB IP: the node\'s own address, outside the ranges, is still dropped', from: 'nodeAFromNodeIP', to: FIREWALLED_LB_IP, port: 80, expect: 'dropped' },
  { name: 'firewalled LB IP: an allowed client', from: 'client', to: FIREWALLED_LB_IP, port: 80, expect: { servers: BOTH } },
  { name: 'firewalled LB IP: a client outside the ranges is dropped', from: 'outsider', to: FIREWALLED_LB_IP, port: 80, expect: 'dropped' },
  // 3. externalTrafficPolicy Local, no endpoint on node-a.
  { name: 'Local without a local endpoint: an external client to the node port is dropped', from: 'client', to: ADDR.nodeA, port: 30013, expect: 'dropped' },
  { name: 'Local without a local endpoint: an external client to the LB IP is dropped', from: 'client', to: LOCAL_POLICY_LB_IP, port: 80, expect: 'dropped' },
  { name: 'Local without a local endpoint: an external client to the external IP is dropped', from: 'client', to: '192.0.2.13', port: 80, expect: 'dropped' },
  { name: 'Local without a local endpoint: a pod of another node counts as external', from: 'podB1', to: ADDR.nodeA, port: 30013, expect: 'dropped' },
  { name: 'Local without a local endpoint: a pod of this node reaches the node port (short-circuit, address kept)', from: 'podA1', to: ADDR.nodeA, port: 30013, expect: { servers: ['pod-b1'], seen: ADDR.podA1 } },
  { name: 'Local without a local endpoint: a pod of this node reaches the LB IP', from: 'podA1', to: LOCAL_POLICY_LB_IP, port: 80, expect: { servers: ['pod-b1'], seen: ADDR.podA1 } },
  { name: 'Local without a local endpoint: a pod of this node reaches the external IP', from: 'podA1', to: '192.0.2.13', port: 80, expect: { servers: ['pod-b1'], seen: ADDR.podA1 } },
  { name: 'Local without a local endpoint: the node reaches its node port (masqueraded)', from: 'nodeA', to: ADDR.nodeA, port: 30013, expect: { servers: ['pod-b1'], seen: ADDR.nodeA } },
  { name: 'Local without a local endpoint: the node reaches the LB IP (masqueraded)', from: 'nodeA', to: LOCAL_POLICY_LB_IP, port: 80, expect: { servers: ['pod-b1'], seen: ADDR.nodeA } },
  // Sourced from the VIP node-a holds: pod-b1 could not answer that address unmasqueraded.
  { name: 'Local without a local endpoint: the node connecting from the LB IP it holds is masqueraded', from: 'nodeAFromLocalPolicyLbIP', to: LOCAL_POLICY_LB_IP, port: 80, expect: { servers: ['pod-b1'], seen: ADDR.nodeA } },
  { name: 'Local without a local endpoint: the node reaches the external IP (masqueraded)', from: 'nodeA', to: '192.0.2.13', port: 80, expect: { servers: ['pod-b1'], seen: ADDR.nodeA } },
  { name: 'Local: node-b, which has the endpoint, serves an external client with its address kept', from: 'client', to: ADDR.nodeB, port: 30013, expect: { servers: ['pod-b1'], seen: ADDR.client } },
];

describe.each(BACKENDS)('kube-proxy parity, real packets: $name', (backend: BackendCase) => {
  let cluster: Cluster;

  const host = (from: From): { host: Host; bind?: string } => {
    switch (from) {
      case 'client': return { host: cluster.client, bind: ADDR.client };
      case 'outsider': return { host: cluster.client, bind: ADDR.outsider };
      case 'nodeA': return { host: cluster.nodeA };
      case 'nodeAFromNodeIP': return { host: cluster.nodeA, bind: ADDR.nodeA };
      case 'nodeAFromLbIP': return { host: cluster.nodeA, bind: FIREWALLED_LB_IP };
      case 'nodeAFromLocalPolicyLbIP': return { host: cluster.nodeA, bind: LOCAL_POLICY_LB_IP };
      case 'podA1': return { host: cluster.pods.a1 };
      case 'podB1': return { host: cluster.pods.b1 };
    }
  };

  beforeAll(async () => {
    cluster = await buildCluster();
    for (const vip of [FIREWALLED_LB_IP, LOCAL_POLICY_LB_IP]) await cluster.nodeA.ip('addr', 'add', `${vip}/32`, 'dev', 'lo');
    // 'untranslated' rows read gw's "network unreachable" answers, which Linux rate-limits
    // per destination (a burst, then one a second): unlimited in gw's namespace only.
    await cluster.gw.sysctl('net.ipv4.icmp_ratelimit', 0);
    const appliers: Applier<RenderInput>[] = [backend.create(cluster.nodeA.exec), backend.create(cluster.nodeB.exec)];
    const results = await Promise.all([appliers[0]?.apply(inputFor('node-a')), appliers[1]?.apply(inputFor('node-b'))]);
    expect(results.map((r) => r?.ok)).toEqual([true, true]);
  });
  afterAll(async () => { await cluster?.destroy(); });

  it.each(rows)('$name', async (row) => {
    const { host: from, bind } = host(row.from);
    const count = typeof row.expect === 'object' ? 6 : 2;
    // A failure that must happen fails fast; a lost first SYN of a connection that must
    // succeed is retransmitted after 1 s, so those wait 3.5 s (see services.int.test.ts).
    const timeoutMs = row.expect === 'dropped' ? 400 : 3500;
    const options = { count, timeoutMs, ...(bind ? { bind } : {}) };
    const results: ProbeResult[] = row.udp
      ? await udpProbe(from, row.to, row.port, { ...options, connect: true })
      : await tcpProbe(from, row.to, row.port, options);
    const errors = tally(results);
    switch (row.expect) {
      case 'refused': expect(errors).toEqual({ 'error:ECONNREFUSED': count }); break;
      case 'untranslated': expect(errors).toEqual({ 'error:ENETUNREACH': count }); break;
      case 'dropped': {
        const fromNode = row.from.startsWith('nodeA');
        expect(Object.keys(errors).every((k) => k === 'error:timeout' || (fromNode && k === 'error:EPERM')), JSON.stringify(errors)).toBe(true);
        break;
      }
      default: {
        const expected = row.expect;
        expect(results.filter((r) => !r.ok)).toEqual([]);
        for (const r of results) if (r.ok) expect(expected.servers).toContain(r.server);
        // Endpoint selection is random: six connections miss one of two endpoints 1 time in 32.
        if (expected.servers.length === 1) expect(Object.keys(errors)).toEqual(expected.servers);
        if (expected.seen !== undefined) for (const r of results) if (r.ok) expect(r.seen).toBe(expected.seen);
      }
    }
  });
});
