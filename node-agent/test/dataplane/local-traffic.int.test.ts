import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { V1Node } from '@kubernetes/client-node';
import { tally, tcpProbe } from '@natplan/e2e/netns';
import type { Host } from '@natplan/e2e/netns';
import type { NodeNatPlanLocalTraffic } from '@natplan/api';
import { compilePlannerConfig, planNode } from '@natplan/operator/planner';
import type { Applier } from '../../src/applier/types.js';
import type { RenderInput } from '../../src/render/index.js';
import { BACKENDS } from './backends.js';
import type { BackendCase } from './backends.js';
import { ADDR, ADDR6, buildCluster } from './cluster.js';
import type { Cluster } from './cluster.js';
import { nodePlan, service } from './plans.js';

// Local-traffic detection and node-port addresses (kube-proxy's --detect-local-mode and
// --nodeport-addresses primary), proven with real packets through the real kernel on
// nftables and iptables, in namespaces this test creates (see cluster.ts). Only node-a
// has rules; pods attach to it on interfaces named pod<N>, the lan is eth1.

/** A second address of node-a on the lan: not its primary InternalIP. */
const SECONDARY_NODE_IP = '172.18.0.20';

const services = () => [
  // externalTrafficPolicy Local, its only endpoint pod-b1 on node-b: on node-a only the
  // short-circuit can serve it.
  service('remote-only', '10.96.0.13', ['b1'], (s) => {
    s.ports = [{ name: 'tcp', protocol: 'TCP', port: 80, nodePort: 30013 }];
    s.externalTrafficPolicy = 'Local';
  }),
  service('web', '10.96.0.10', ['a1', 'b1'], (s) => { s.ports = [{ name: 'tcp', protocol: 'TCP', port: 80, nodePort: 30080 }]; }),
];

type From = 'client' | 'podA1' | 'podB1';
/** Answered by pod-b1, which saw this client address; or dropped by our rules (a timeout). */
type Expect = { seen: string } | 'dropped';
interface Row { name: string; from: From; expect: Expect }
interface Detector { name: string; localTraffic: NodeNatPlanLocalTraffic; rows: Row[] }

// pod-b1 reaching node-a's node port is DNATed to itself when short-circuited; the hairpin
// rule then masquerades it (a pod cannot answer its own address), so it sees node-a.
const DETECTORS: Detector[] = [
  {
    name: 'ClusterCIDR',
    localTraffic: { mode: 'ClusterCIDR', cidrs: ['10.244.0.0/16', 'fd00:10:244::/56'] },
    rows: [
      { name: 'this node\'s pod is short-circuited, its address kept', from: 'podA1', expect: { seen: ADDR.podA1 } },
      { name: 'a pod of another node, inside the cluster CIDR, is short-circuited too', from: 'podB1', expect: { seen: ADDR.nodeA } },
      { name: 'an external client is dropped', from: 'client', expect: 'dropped' },
    ],
  },
  {
    name: 'NodeCIDR',
    localTraffic: { mode: 'NodeCIDR', cidrs: ['10.244.1.0/24', 'fd00:10:244:1::/64'] },
    rows: [
      { name: 'this node\'s pod is short-circuited, its address kept', from: 'podA1', expect: { seen: ADDR.podA1 } },
      { name: 'a pod of another node is an external client: dropped', from: 'podB1', expect: 'dropped' },
      { name: 'an external client is dropped', from: 'client', expect: 'dropped' },
    ],
  },
  {
    name: 'InterfaceNamePrefix',
    localTraffic: { mode: 'InterfaceNamePrefix', interfaceNamePrefix: 'pod' },
    rows: [
      { name: 'a pod arriving on pod<N> is short-circuited, its address kept', from: 'podA1', expect: { seen: ADDR.podA1 } },
      { name: 'a pod arriving on the lan is an external client: dropped', from: 'podB1', expect: 'dropped' },
      { name: 'an external client is dropped', from: 'client', expect: 'dropped' },
    ],
  },
];

const TESTED = BACKENDS.filter((b) => b.name === 'nftables' || b.name === 'iptables');

describe.each(TESTED)('local traffic and node-port addresses, real packets: $name', (backend: BackendCase) => {
  let cluster: Cluster;
  let applier: Applier<RenderInput>;
  const host = (from: From): { host: Host; bind?: string } => {
    switch (from) {
      case 'client': return { host: cluster.client, bind: ADDR.client };
      case 'podA1': return { host: cluster.pods.a1 };
      case 'podB1': return { host: cluster.pods.b1 };
    }
  };
  const apply = async (change: Parameters<typeof nodePlan>[1]): Promise<void> => {
    const result = await applier.apply({ node: nodePlan('node-a', change), services: services(), identity: { nodeName: 'node-a', zone: 'zone-1' } });
    expect(result.ok).toBe(true);
  };

  beforeAll(async () => {
    cluster = await buildCluster();
    await cluster.nodeA.ip('addr', 'add', `${SECONDARY_NODE_IP}/16`, 'dev', 'eth1');
    applier = backend.create(cluster.nodeA.exec);
  });
  afterAll(async () => { await cluster?.destroy(); });

  describe.each(DETECTORS)('$name', (detector) => {
    beforeAll(async () => { await apply((n) => { n.localTraffic = detector.localTraffic; }); });
    it.each(detector.rows)('eTP Local node port without a local endpoint: $name', async (row) => {
      const { host: from, bind } = host(row.from);
      const count = row.expect === 'dropped' ? 2 : 4;
      // A dropped connection fails fast; a lost first SYN is retransmitted after 1 s.
      const results = await tcpProbe(from, ADDR.nodeA, 30013, { count, timeoutMs: row.expect === 'dropped' ? 400 : 3500, ...(bind ? { bind } : {}) });
      if (row.expect === 'dropped') {
        expect(tally(results)).toEqual({ 'error:timeout': count });
        return;
      }
      expect(results.filter((r) => !r.ok)).toEqual([]);
      for (const r of results) if (r.ok) expect([r.server, r.seen]).toEqual(['pod-b1', row.expect.seen]);
    });
  });

  describe('a single-stack IPv4 node', () => {
    beforeAll(async () => {
      await apply((n) => {
        n.nodePortAddresses = [ADDR.nodeA];
        n.podCIDRs = ['10.244.1.0/24'];
        n.clusterCIDRs = ['10.244.0.0/16'];
        n.serviceCIDRs = ['10.96.0.0/16'];
        n.localTraffic = { mode: 'ClusterCIDR', cidrs: ['10.244.0.0/16'] };
      });
    });
    it('applies, and IPv4 Services work', async () => {
      const results = await tcpProbe(cluster.client, ADDR.nodeA, 30080, { count: 4, timeoutMs: 3500, bind: ADDR.client });
      expect(results.filter((r) => !r.ok)).toEqual([]);
    });
    it('nothing of natplan sees IPv6 packets: no IPv6 node port', async () => {
      const results = await tcpProbe(cluster.client, ADDR6.nodeA, 30080, { count: 2, timeoutMs: 3500 });
      expect(tally(results)).toEqual({ 'error:ECONNREFUSED': 2 });
      if (backend.backend === 'nftables') {
        // The ip6 table (kept, empty) holds no chain, so no hook: an IPv6 packet meets no
        // natplan rule. Its chains were there before this plan: the sync removed them.
        expect((await cluster.nodeA.run(['nft', 'list', 'chains', 'ip6'])).stdout).toBe('table ip6 natplan {\n}\n');
      }
    });
  });

  describe('nodePortAddresses primary', () => {
    beforeAll(async () => {
      // The operator's planner resolves `primary` from the Node object, as in a cluster.
      const node: V1Node = {
        metadata: { name: 'node-a' },
        status: { addresses: [
          { type: 'InternalIP', address: ADDR.nodeA }, { type: 'InternalIP', address: SECONDARY_NODE_IP },
          { type: 'InternalIP', address: ADDR6.nodeA }, { type: 'Hostname', address: 'node-a' },
        ] },
      };
      const compiled = compilePlannerConfig({
        mode: 'replace', proxyName: 'natplan', externalIPAllowList: [], clusterCIDRs: ['10.244.0.0/16'], masqueradeAll: false, backend: 'auto', nodePortAddressCIDRs: ['primary'],
      });
      if (!compiled.ok) throw new Error(compiled.errors.join('; '));
      const planned = planNode({ node }, compiled.config).nodePortAddresses ?? [];
      expect(planned).toEqual([ADDR.nodeA, ADDR6.nodeA]);
      await apply((n) => { n.nodePortAddresses = planned; });
    });
    it('the node port answers on the primary IP', async () => {
      const results = await tcpProbe(cluster.client, ADDR.nodeA, 30080, { count: 4, timeoutMs: 3500, bind: ADDR.client });
      expect(results.filter((r) => !r.ok)).toEqual([]);
    });
    it('not on the node\'s other address: nothing listens there, the kernel refuses', async () => {
      const results = await tcpProbe(cluster.client, SECONDARY_NODE_IP, 30080, { count: 2, timeoutMs: 3500, bind: ADDR.client });
      expect(tally(results)).toEqual({ 'error:ECONNREFUSED': 2 });
    });
    it('with every InternalIP (the default), the other address answers too', async () => {
      await apply((n) => { n.nodePortAddresses = [ADDR.nodeA, SECONDARY_NODE_IP, ADDR6.nodeA]; });
      const results = await tcpProbe(cluster.client, SECONDARY_NODE_IP, 30080, { count: 4, timeoutMs: 3500, bind: ADDR.client });
      expect(results.filter((r) => !r.ok)).toEqual([]);
    });
  });
});
