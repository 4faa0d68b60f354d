/**
 * The local-traffic detectors (NodeNatPlan localTraffic, kube-proxy's --detect-local-mode),
 * traced over both backends: who is short-circuited to every endpoint of an
 * externalTrafficPolicy Local Service, and whose cluster-IP traffic is masqueraded.
 */
import { describe, expect, it } from 'vitest';
import type { NodeNatPlanLocalTraffic, NodeNatPlanSpec } from '@natplan/api';
import { renderIptables } from './iptables-render.js';
import { traceIptables } from './testing/iptables-trace.js';
import { renderNftables } from './nft-render.js';
import type { TraceHost, TracePacket, TraceResult } from './testing/nft-trace.js';
import { traceNft } from './testing/nft-trace.js';
import type { RenderInput } from './plan.js';
import { scenarioInput } from './testing/scenario.js';

// Addresses: see testing/builders.ts. This node: 172.18.0.2, pods 10.244.1.0/24; another
// node's pods are in 10.244.2.0/24, the cluster CIDR is 10.244.0.0/16.
const NODE = '172.18.0.2';
const THIS_NODES_POD = '10.244.1.30';
const OTHER_NODES_POD = '10.244.2.30';
const CLIENT = '203.0.113.5';
const HOST: TraceHost = { localAddresses: [NODE] };
// The scenario's node port 30082: externalTrafficPolicy Local, its only endpoint elsewhere.
const LOCAL_NODE_PORT = 30082;
const SHORT_CIRCUIT = { verdict: 'DNAT', endpoints: ['10.244.2.7:8080'], masquerade: false };
const DROPPED = { verdict: 'DROP', masquerade: false };
// The scenario's cluster IP 10.96.0.10 (Cluster policy, endpoints on both nodes).
const CLUSTER_IP = '10.96.0.10';

type Tracer = (input: RenderInput) => (packet: TracePacket) => TraceResult;
const BACKENDS: [string, Tracer][] = [
  ['nftables', (input) => { const r = renderNftables(input); return (packet) => traceNft(r, packet, HOST); }],
  ['iptables', (input) => { const r = renderIptables(input); return (packet) => traceIptables(r, packet, HOST); }],
];

interface Row { name: string; localTraffic: NodeNatPlanLocalTraffic | undefined; edit?: (n: NodeNatPlanSpec) => void; source: string; inInterface?: string; fromNode?: boolean; want: object }

const CLUSTER_CIDR: NodeNatPlanLocalTraffic = { mode: 'ClusterCIDR', cidrs: ['10.244.0.0/16', 'fd00:10:244::/56'] };
const NODE_CIDR: NodeNatPlanLocalTraffic = { mode: 'NodeCIDR', cidrs: ['10.244.1.0/24', 'fd00:10:244:1::/64'] };
const BRIDGE: NodeNatPlanLocalTraffic = { mode: 'BridgeInterface', interfaceName: 'cni0' };
const PREFIX: NodeNatPlanLocalTraffic = { mode: 'InterfaceNamePrefix', interfaceNamePrefix: 'veth' };

const SHORT_CIRCUIT_ROWS: Row[] = [
  { name: 'ClusterCIDR: this node\'s pod', localTraffic: CLUSTER_CIDR, source: THIS_NODES_POD, want: SHORT_CIRCUIT },
  { name: 'ClusterCIDR: a pod outside this node\'s pod CIDR, inside the cluster CIDR', localTraffic: CLUSTER_CIDR, source: OTHER_NODES_POD, want: SHORT_CIRCUIT },
  { name: 'ClusterCIDR: an external client', localTraffic: CLUSTER_CIDR, source: CLIENT, want: DROPPED },
  { name: 'NodeCIDR: this node\'s pod', localTraffic: NODE_CIDR, source: THIS_NODES_POD, want: SHORT_CIRCUIT },
  { name: 'NodeCIDR: a pod of another node is not recognised', localTraffic: NODE_CIDR, source: OTHER_NODES_POD, want: DROPPED },
  { name: 'BridgeInterface: arriving on the bridge', localTraffic: BRIDGE, source: THIS_NODES_POD, inInterface: 'cni0', want: SHORT_CIRCUIT },
  { name: 'BridgeInterface: a pod address arriving on the uplink', localTraffic: BRIDGE, source: THIS_NODES_POD, inInterface: 'eth0', want: DROPPED },
  { name: 'BridgeInterface: another bridge whose name starts the same', localTraffic: BRIDGE, source: THIS_NODES_POD, inInterface: 'cni01', want: DROPPED },
  { name: 'InterfaceNamePrefix: arriving on a veth', localTraffic: PREFIX, source: THIS_NODES_POD, inInterface: 'veth9f3a', want: SHORT_CIRCUIT },
  { name: 'InterfaceNamePrefix: any source address on a veth', localTraffic: PREFIX, source: CLIENT, inInterface: 'veth9f3a', want: SHORT_CIRCUIT },
  { name: 'InterfaceNamePrefix: a pod address on the uplink', localTraffic: PREFIX, source: THIS_NODES_POD, inInterface: 'eth0', want: DROPPED },
  { name: 'ClusterCIDR without CIDRs: nothing is local', localTraffic: { mode: 'ClusterCIDR' }, source: THIS_NODES_POD, want: DROPPED },
  { name: 'no CIDRs: the node itself is still short-circuited, masqueraded', localTraffic: { mode: 'ClusterCIDR' }, source: NODE, fromNode: true, want: { ...SHORT_CIRCUIT, masquerade: true } },
  { name: 'interface mode: the node itself (no input interface) is short-circuited, masqueraded', localTraffic: PREFIX, source: NODE, fromNode: true, want: { ...SHORT_CIRCUIT, masquerade: true } },
  // A plan from an operator without localTraffic: its default over the plan's CIDRs.
  { name: 'no localTraffic: the cluster CIDRs', localTraffic: undefined, source: OTHER_NODES_POD, want: SHORT_CIRCUIT },
  { name: 'no localTraffic, no cluster CIDRs: the node\'s pod CIDRs', localTraffic: undefined, edit: (n) => { n.clusterCIDRs = []; }, source: OTHER_NODES_POD, want: DROPPED },
  { name: 'no localTraffic, no cluster CIDRs: this node\'s pod', localTraffic: undefined, edit: (n) => { n.clusterCIDRs = []; }, source: THIS_NODES_POD, want: SHORT_CIRCUIT },
];

const MASQUERADE_ROWS: Row[] = [
  { name: 'ClusterCIDR: a pod of another node is not masqueraded', localTraffic: CLUSTER_CIDR, source: OTHER_NODES_POD, want: { masquerade: false } },
  { name: 'ClusterCIDR: an external client is', localTraffic: CLUSTER_CIDR, source: CLIENT, want: { masquerade: true } },
  { name: 'NodeCIDR: a pod of another node is', localTraffic: NODE_CIDR, source: OTHER_NODES_POD, want: { masquerade: true } },
  { name: 'NodeCIDR: this node\'s pod is not', localTraffic: NODE_CIDR, source: THIS_NODES_POD, want: { masquerade: false } },
  { name: 'BridgeInterface: from the bridge is not', localTraffic: BRIDGE, source: THIS_NODES_POD, inInterface: 'cni0', want: { masquerade: false } },
  { name: 'BridgeInterface: from the uplink is', localTraffic: BRIDGE, source: CLIENT, inInterface: 'eth0', want: { masquerade: true } },
  { name: 'InterfaceNamePrefix: from a veth is not', localTraffic: PREFIX, source: THIS_NODES_POD, inInterface: 'veth9f3a', want: { masquerade: false } },
  { name: 'InterfaceNamePrefix: the node itself is', localTraffic: PREFIX, source: NODE, fromNode: true, want: { masquerade: true } },
  { name: 'no detector: an external client is not (kube-proxy without local detection)', localTraffic: { mode: 'NodeCIDR' }, source: CLIENT, want: { masquerade: false } },
];

const inputFor = (row: Row): RenderInput => scenarioInput((n) => {
  if (row.localTraffic) n.localTraffic = row.localTraffic;
  else delete n.localTraffic;
  row.edit?.(n);
});
const packet = (row: Row, destination: string, port: number): TracePacket => ({
  family: 'IPv4', source: row.source, destination, port, protocol: 'tcp',
  ...(row.inInterface ? { inInterface: row.inInterface } : {}), ...(row.fromNode ? { fromNode: true } : {}),
});

describe.each(BACKENDS)('%s: local-traffic detectors', (_, tracer) => {
  it.each(SHORT_CIRCUIT_ROWS)('eTP Local node port without a local endpoint, $name', (row) => {
    const got = tracer(inputFor(row))(packet(row, NODE, LOCAL_NODE_PORT));
    expect({ verdict: got.verdict, endpoints: got.endpoints, masquerade: got.masquerade }).toEqual({ endpoints: undefined, ...row.want });
  });
  it.each(MASQUERADE_ROWS)('cluster IP, $name', (row) => {
    const got = tracer(inputFor(row))(packet(row, CLUSTER_IP, 80));
    expect(got.verdict).toBe('DNAT');
    // The hairpin branch (a pod picking itself) is not among these sources.
    expect({ masquerade: got.masquerade }).toEqual(row.want);
  });
});

describe('rendered detector rules', () => {
  it('nftables: a CIDR detector is one interval set; an interface detector an iifname match', () => {
    const cidrs = renderNftables(scenarioInput((n) => { n.localTraffic = NODE_CIDR; }));
    expect([...(cidrs.tables.IPv4.sets.get('local-cidrs')?.elements.keys() ?? [])]).toEqual(['10.244.1.0/24']);
    const prefix = renderNftables(scenarioInput((n) => { n.localTraffic = PREFIX; }));
    const rules = [...prefix.tables.IPv4.chains.values()].flatMap((c) => c.rules);
    expect(rules.filter((r) => r.includes('iifname'))).toContain('iifname != "veth*" jump mark-for-masquerade');
    expect(prefix.tables.IPv4.sets.get('local-cidrs')?.elements.size).toBe(0);
  });
  it('iptables: an interface prefix is -i with iptables\' + wildcard', () => {
    const { IPv4: ipv4 } = renderIptables(scenarioInput((n) => { n.localTraffic = PREFIX; }));
    expect(ipv4).toContain('-A NATPLAN-MASQ-OFFCLUSTER -i veth+ -j RETURN');
  });
});
