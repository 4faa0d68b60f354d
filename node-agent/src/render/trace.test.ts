import { describe, expect, it } from 'vitest';
import { renderIptables } from './iptables-render.js';
import { traceIptables } from './testing/iptables-trace.js';
import { renderNftables } from './nft-render.js';
import type { TraceHost, TracePacket, TraceResult } from './testing/nft-trace.js';
import { traceNft } from './testing/nft-trace.js';
import type { RenderInput } from './plan.js';
import { scenarioInput } from './testing/scenario.js';

// Addresses: see testing/builders.ts. This node is node-a (zone-1), 172.18.0.2, pods 10.244.1.0/24.
const CLIENT = '203.0.113.5'; // allowed by the source ranges in the scenario
const OUTSIDER = '192.0.2.77'; // not allowed
const LOCAL_POD = '10.244.1.30';
const NODE = '172.18.0.2';

type Expect = { verdict: string; endpoints?: string[]; masquerade: boolean };
interface Row { name: string; packet: Omit<TracePacket, 'family'> & { family?: TracePacket['family'] }; want: Expect }

const tcp = (source: string, destination: string, port: number, extra: Partial<TracePacket> = {}): Row['packet'] =>
  ({ source, destination, port, protocol: 'tcp', ...extra });

const WEB = ['10.244.1.5:8080', '10.244.2.9:8080'];
// The scenario's explicit exposure addresses are floating IPs held by this node.
const EXPOSURE_IPS = ['198.51.100.50', '198.51.100.51', '198.51.100.52'];
const THIS_NODE: TraceHost = { localAddresses: [NODE, ...EXPOSURE_IPS] };

const TRACE_ROWS: Row[] = [
  { name: 'cluster IP from outside the cluster: both endpoints, masqueraded', packet: tcp(CLIENT, '10.96.0.10', 80), want: { verdict: 'DNAT', endpoints: WEB, masquerade: true } },
  { name: 'cluster IP from a pod: not masqueraded', packet: tcp(LOCAL_POD, '10.96.0.10', 80, { fromLocalPod: true }), want: { verdict: 'DNAT', endpoints: WEB, masquerade: false } },
  { name: 'hairpin: an endpoint reaching itself is masqueraded', packet: tcp('10.244.1.5', '10.96.0.10', 80, { fromLocalPod: true }), want: { verdict: 'DNAT', endpoints: WEB, masquerade: true } },
  // A cluster IP answers only on the ports and protocols its Service serves (kube-proxy's
  // nftables mode; its iptables mode let these through untranslated, a known defect).
  { name: 'cluster IP, wrong port: REJECT', packet: tcp(LOCAL_POD, '10.96.0.10', 81), want: { verdict: 'REJECT', masquerade: false } },
  { name: 'cluster IP, wrong port from the node: REJECT', packet: tcp(NODE, '10.96.0.10', 81, { fromNode: true }), want: { verdict: 'REJECT', masquerade: false } },
  { name: 'cluster IP, wrong port from outside the cluster: REJECT', packet: tcp(CLIENT, '10.96.0.10', 81), want: { verdict: 'REJECT', masquerade: false } },
  { name: 'cluster IP, wrong protocol (UDP to a TCP-only port): REJECT', packet: { source: LOCAL_POD, destination: '10.96.0.10', port: 80, protocol: 'udp' }, want: { verdict: 'REJECT', masquerade: false } },
  { name: 'cluster IP of a Service without endpoints, wrong port: REJECT', packet: tcp(LOCAL_POD, '10.96.0.13', 81), want: { verdict: 'REJECT', masquerade: false } },
  { name: 'IPv6 cluster IP, wrong port: REJECT', packet: { family: 'IPv6', ...tcp('fd00:10:244:1::30', 'fd00:10:96::19', 81) }, want: { verdict: 'REJECT', masquerade: false } },
  // External and load-balancer IPs are not the cluster's to refuse: kube-proxy passes a
  // wrong port through untranslated (the address may be used for something else).
  { name: 'external IP, wrong port: untouched', packet: tcp(CLIENT, '192.0.2.10', 81), want: { verdict: 'ACCEPT', masquerade: false } },
  { name: 'load-balancer IP, wrong port: untouched', packet: tcp(CLIENT, '198.51.100.7', 81), want: { verdict: 'ACCEPT', masquerade: false } },
  { name: 'unallocated address in the Service CIDR: DROP', packet: tcp(LOCAL_POD, '10.96.0.99', 80), want: { verdict: 'DROP', masquerade: false } },
  { name: 'unallocated Service address from the node: DROP', packet: tcp(NODE, '10.96.0.99', 80, { fromNode: true }), want: { verdict: 'DROP', masquerade: false } },
  { name: 'unallocated IPv6 Service address: DROP', packet: { family: 'IPv6', ...tcp('fd00:10:244:1::30', 'fd00:10:96::99', 80) }, want: { verdict: 'DROP', masquerade: false } },
  { name: 'outside the Service CIDR: untouched', packet: tcp(LOCAL_POD, '10.97.0.1', 80), want: { verdict: 'ACCEPT', masquerade: false } },
  { name: 'node port: Cluster policy masquerades', packet: tcp(CLIENT, NODE, 30080), want: { verdict: 'DNAT', endpoints: WEB, masquerade: true } },
  { name: 'node port on an address not serving node ports', packet: tcp(CLIENT, '172.18.0.3', 30080), want: { verdict: 'ACCEPT', masquerade: false } },
  { name: 'external IP', packet: tcp(CLIENT, '192.0.2.10', 80), want: { verdict: 'DNAT', endpoints: WEB, masquerade: true } },
  { name: 'load-balancer IP', packet: tcp(CLIENT, '198.51.100.7', 80), want: { verdict: 'DNAT', endpoints: WEB, masquerade: true } },
  { name: 'Local node port: only this node\'s endpoint, client address kept', packet: tcp(CLIENT, NODE, 30081), want: { verdict: 'DNAT', endpoints: ['10.244.1.6:8080'], masquerade: false } },
  { name: 'Local LB IP: only this node\'s endpoint', packet: tcp(CLIENT, '198.51.100.8', 80), want: { verdict: 'DNAT', endpoints: ['10.244.1.6:8080'], masquerade: false } },
  { name: 'Local LB IP from a pod of this node: every endpoint (short-circuit)', packet: tcp(LOCAL_POD, '198.51.100.8', 80, { fromLocalPod: true }), want: { verdict: 'DNAT', endpoints: ['10.244.1.6:8080', '10.244.2.6:8080'], masquerade: false } },
  { name: 'Local node port from the node itself: every endpoint, masqueraded', packet: tcp(NODE, NODE, 30081, { fromNode: true }), want: { verdict: 'DNAT', endpoints: ['10.244.1.6:8080', '10.244.2.6:8080'], masquerade: true } },
  { name: 'Local cluster IP uses the Cluster endpoints (internal policy Cluster)', packet: tcp(LOCAL_POD, '10.96.0.11', 80), want: { verdict: 'DNAT', endpoints: ['10.244.1.6:8080', '10.244.2.6:8080'], masquerade: false } },
  // externalTrafficPolicy Local without a local endpoint: external clients are dropped, this
  // node's pods and processes are still short-circuited to the endpoints elsewhere.
  { name: 'Local node port without a local endpoint: DROP', packet: tcp(CLIENT, NODE, 30082), want: { verdict: 'DROP', masquerade: false } },
  { name: 'Local LB IP without a local endpoint: DROP', packet: tcp(CLIENT, '198.51.100.11', 80), want: { verdict: 'DROP', masquerade: false } },
  { name: 'Local external IP without a local endpoint: DROP', packet: tcp(CLIENT, '192.0.2.11', 80), want: { verdict: 'DROP', masquerade: false } },
  { name: 'Local node port without a local endpoint, from a pod of this node: short-circuit', packet: tcp(LOCAL_POD, NODE, 30082, { fromLocalPod: true }), want: { verdict: 'DNAT', endpoints: ['10.244.2.7:8080'], masquerade: false } },
  { name: 'Local LB IP without a local endpoint, from a pod of this node: short-circuit', packet: tcp(LOCAL_POD, '198.51.100.11', 80, { fromLocalPod: true }), want: { verdict: 'DNAT', endpoints: ['10.244.2.7:8080'], masquerade: false } },
  { name: 'Local external IP without a local endpoint, from a pod of this node: short-circuit', packet: tcp(LOCAL_POD, '192.0.2.11', 80, { fromLocalPod: true }), want: { verdict: 'DNAT', endpoints: ['10.244.2.7:8080'], masquerade: false } },
  { name: 'Local node port without a local endpoint, from the node: short-circuit, masqueraded', packet: tcp(NODE, NODE, 30082, { fromNode: true }), want: { verdict: 'DNAT', endpoints: ['10.244.2.7:8080'], masquerade: true } },
  { name: 'Local LB IP without a local endpoint, from the node: short-circuit, masqueraded', packet: tcp(NODE, '198.51.100.11', 80, { fromNode: true }), want: { verdict: 'DNAT', endpoints: ['10.244.2.7:8080'], masquerade: true } },
  { name: 'Local external IP without a local endpoint, from the node: short-circuit, masqueraded', packet: tcp(NODE, '192.0.2.11', 80, { fromNode: true }), want: { verdict: 'DNAT', endpoints: ['10.244.2.7:8080'], masquerade: true } },
  // ClusterCIDR (the scenario's detector) counts every pod of the cluster as local, as
  // kube-proxy does; NodeCIDR only this node's (local-traffic.test.ts).
  { name: 'Local node port without a local endpoint, from a pod of another node: short-circuit (ClusterCIDR)', packet: tcp('10.244.2.30', NODE, 30082), want: { verdict: 'DNAT', endpoints: ['10.244.2.7:8080'], masquerade: false } },
  { name: 'its cluster IP still works', packet: tcp(LOCAL_POD, '10.96.0.12', 80), want: { verdict: 'DNAT', endpoints: ['10.244.2.7:8080'], masquerade: false } },
  { name: 'no endpoints: cluster IP REJECT', packet: tcp(LOCAL_POD, '10.96.0.13', 80), want: { verdict: 'REJECT', masquerade: false } },
  { name: 'no endpoints: cluster IP REJECT from the node', packet: tcp(NODE, '10.96.0.13', 80, { fromNode: true }), want: { verdict: 'REJECT', masquerade: false } },
  { name: 'no endpoints: node port REJECT', packet: tcp(CLIENT, NODE, 30083), want: { verdict: 'REJECT', masquerade: false } },
  { name: 'internal policy Local without a local endpoint: DROP', packet: tcp(LOCAL_POD, '10.96.0.14', 80), want: { verdict: 'DROP', masquerade: false } },
  { name: 'internal policy Local: only this node\'s endpoint', packet: tcp(LOCAL_POD, '10.96.0.23', 80), want: { verdict: 'DNAT', endpoints: ['10.244.1.23:8080'], masquerade: false } },
  { name: 'topology: only the endpoint hinted for this zone', packet: tcp(LOCAL_POD, '10.96.0.15', 80), want: { verdict: 'DNAT', endpoints: ['10.244.1.8:8080'], masquerade: false } },
  { name: 'LB source ranges: allowed client', packet: tcp(CLIENT, '198.51.100.9', 80), want: { verdict: 'DNAT', endpoints: ['10.244.2.16:8080'], masquerade: true } },
  { name: 'LB source ranges: outsider dropped', packet: tcp(OUTSIDER, '198.51.100.9', 80), want: { verdict: 'DROP', masquerade: false } },
  // The LB IP itself as the source: the node holding the VIP, or the load balancer's hairpin SNAT.
  { name: 'LB source ranges: the LB IP itself as source is allowed (hairpin)', packet: tcp('198.51.100.9', '198.51.100.9', 80), want: { verdict: 'DNAT', endpoints: ['10.244.2.16:8080'], masquerade: true } },
  { name: 'LB source ranges: the node connecting from the LB IP it holds is allowed', packet: tcp('198.51.100.9', '198.51.100.9', 80, { fromNode: true }), want: { verdict: 'DNAT', endpoints: ['10.244.2.16:8080'], masquerade: true } },
  { name: 'LB source ranges: another Service\'s LB IP as source is dropped', packet: tcp('198.51.100.7', '198.51.100.9', 80), want: { verdict: 'DROP', masquerade: false } },
  { name: 'LB source ranges do not apply to the cluster IP', packet: tcp(OUTSIDER, '10.96.0.16', 80), want: { verdict: 'DNAT', endpoints: ['10.244.2.16:8080'], masquerade: true } },
  { name: 'UDP', packet: { source: LOCAL_POD, destination: '10.96.0.17', port: 53, protocol: 'udp' }, want: { verdict: 'DNAT', endpoints: ['10.244.2.10:5353'], masquerade: false } },
  { name: 'UDP port does not match TCP: REJECT', packet: tcp(LOCAL_POD, '10.96.0.17', 53), want: { verdict: 'REJECT', masquerade: false } },
  { name: 'SCTP', packet: { source: LOCAL_POD, destination: '10.96.0.18', port: 3868, protocol: 'SCTP' }, want: { verdict: 'DNAT', endpoints: ['10.244.2.18:8080'], masquerade: false } },
  { name: 'dual-stack, IPv4 side', packet: tcp(LOCAL_POD, '10.96.0.19', 80), want: { verdict: 'DNAT', endpoints: ['10.244.2.19:8080'], masquerade: false } },
  { name: 'dual-stack, IPv6 side', packet: { family: 'IPv6', ...tcp('fd00:10:244:1::30', 'fd00:10:96::19', 80) }, want: { verdict: 'DNAT', endpoints: ['[fd00:10:244:2::19]:8080'], masquerade: false } },
  { name: 'IPv6 client from outside the cluster is masqueraded', packet: { family: 'IPv6', ...tcp('2001:db8::5', 'fd00:10:96::19', 80) }, want: { verdict: 'DNAT', endpoints: ['[fd00:10:244:2::19]:8080'], masquerade: true } },
  { name: 'endpoints of every part are merged', packet: tcp(LOCAL_POD, '10.96.0.20', 80), want: { verdict: 'DNAT', endpoints: ['10.244.2.20:8080', '10.244.3.20:8080'], masquerade: false } },
  { name: 'ClientIP affinity: first connection balances over all', packet: tcp(LOCAL_POD, '10.96.0.21', 80), want: { verdict: 'DNAT', endpoints: ['10.244.2.21:8080', '10.244.3.21:8080'], masquerade: false } },
  { name: 'exposure, Masquerade: allowed client reaches any endpoint', packet: tcp(CLIENT, NODE, 8080), want: { verdict: 'DNAT', endpoints: WEB, masquerade: true } },
  { name: 'exposure source ranges: outsider dropped', packet: tcp(OUTSIDER, NODE, 8080), want: { verdict: 'DROP', masquerade: false } },
  { name: 'exposure, PreserveClientAddress: only this node\'s endpoint', packet: { source: OUTSIDER, destination: '198.51.100.50', port: 27015, protocol: 'udp' }, want: { verdict: 'DNAT', endpoints: ['10.244.1.22:5353'], masquerade: false } },
  { name: 'exposure, PreserveClientAddress, no endpoint on this node: DROP', packet: tcp(CLIENT, '198.51.100.52', 80), want: { verdict: 'DROP', masquerade: false } },
  { name: 'exposure of a missing Service: REJECT', packet: tcp(CLIENT, '198.51.100.51', 9999), want: { verdict: 'REJECT', masquerade: false } },
];

type Tracer = (input: RenderInput) => (packet: TracePacket, host?: TraceHost) => TraceResult;
const BACKENDS: [string, Tracer][] = [
  ['nftables', (input) => { const ruleset = renderNftables(input); return (packet, host) => traceNft(ruleset, packet, host); }],
  ['iptables', (input) => { const rendered = renderIptables(input); return (packet, host) => traceIptables(rendered, packet, host); }],
];

it('the scenario renders without problems', () => {
  expect(renderNftables(scenarioInput()).problems).toEqual([]);
});

describe.each(BACKENDS)('%s: packet traces over the rendered scenario', (_, tracer) => {
  const trace = tracer(scenarioInput());
  it.each(TRACE_ROWS)('$name', ({ packet, want }) => {
    const got = trace({ family: 'IPv4', ...packet }, THIS_NODE);
    expect({ verdict: got.verdict, endpoints: got.endpoints, masquerade: got.masquerade }).toEqual({ endpoints: undefined, ...want });
  });
});

// Finding 1 (traffic hijack): a policy named an outside host's address; pods and the node
// itself talking to that host were answered by the policy's Service. An exposure is traffic
// arriving at this node: where its address is not local, nothing is captured, not even by
// the exposure's source ranges.
const OUTSIDE_HOST: TraceHost = { localAddresses: [NODE] };
const OUTSIDE_ROWS: Row[] = [
  { name: 'a local pod to the outside host an exposure names (UDP): untouched', packet: { source: LOCAL_POD, destination: '198.51.100.50', port: 27015, protocol: 'udp', fromLocalPod: true }, want: { verdict: 'ACCEPT', masquerade: false } },
  { name: 'the node itself to that outside host: untouched', packet: { source: NODE, destination: '198.51.100.50', port: 27015, protocol: 'udp', fromNode: true }, want: { verdict: 'ACCEPT', masquerade: false } },
  { name: 'a pod to an outside host named by an exposure without endpoints: not rejected', packet: tcp(LOCAL_POD, '198.51.100.51', 9999, { fromLocalPod: true }), want: { verdict: 'ACCEPT', masquerade: false } },
  { name: 'traffic routed through the node to that host: untouched', packet: { source: OUTSIDER, destination: '198.51.100.52', port: 80, protocol: 'tcp' }, want: { verdict: 'ACCEPT', masquerade: false } },
];
describe.each(BACKENDS)('%s: an exposure never captures connections to another host', (_, tracer) => {
  const trace = tracer(scenarioInput((n) => {
    // Source ranges too: they must not filter traffic to the outside host either.
    for (const x of n.exposures ?? []) x.sourceRanges = ['203.0.113.0/24'];
  }));
  it.each(OUTSIDE_ROWS)('$name', ({ packet, want }) => {
    const got = trace({ family: 'IPv4', ...packet }, OUTSIDE_HOST);
    expect({ verdict: got.verdict, endpoints: got.endpoints, masquerade: got.masquerade }).toEqual({ endpoints: undefined, ...want });
  });
  it('the same exposure still works where its address is local', () => {
    const got = trace({ family: 'IPv4', source: CLIENT, destination: '198.51.100.50', port: 27015, protocol: 'udp' }, THIS_NODE);
    expect(got.endpoints).toEqual(['10.244.1.22:5353']);
  });
});

describe.each(BACKENDS)('%s: node options', (_, tracer) => {
  it('without Service CIDRs, an unallocated Service address is left alone', () => {
    const trace = tracer({ ...scenarioInput(), options: {} });
    expect(trace({ family: 'IPv4', ...tcp(LOCAL_POD, '10.96.0.99', 80) }).verdict).toBe('ACCEPT');
  });
  it('masqueradeAll masquerades pod traffic to a cluster IP', () => {
    const trace = tracer(scenarioInput((n) => { n.masqueradeAll = true; }));
    expect(trace({ family: 'IPv4', ...tcp(LOCAL_POD, '10.96.0.10', 80) }).masquerade).toBe(true);
  });
  it('without local CIDRs, off-cluster traffic to a cluster IP is not masqueraded', () => {
    const trace = tracer(scenarioInput((n) => { n.localTraffic = { mode: 'ClusterCIDR' }; }));
    expect(trace({ family: 'IPv4', ...tcp(CLIENT, '10.96.0.10', 80) }).masquerade).toBe(false);
  });
  it('no node-port addresses: node ports open on every local address but loopback', () => {
    const trace = tracer(scenarioInput((n) => { n.nodePortAddresses = []; }));
    const host = { localAddresses: ['172.18.0.3', '127.0.0.1'] };
    expect(trace({ family: 'IPv4', ...tcp(CLIENT, '172.18.0.3', 30080) }, host).endpoints).toEqual(WEB);
    expect(trace({ family: 'IPv4', ...tcp('127.0.0.1', '127.0.0.1', 30080, { fromNode: true }) }, host).verdict).toBe('ACCEPT');
  });
  it('IPv4-only node-port addresses: no IPv6 node ports', () => {
    const trace = tracer(scenarioInput((n) => { n.nodePortAddresses = ['172.18.0.2']; }));
    expect(trace({ family: 'IPv6', ...tcp('2001:db8::5', 'fd00:172:18::2', 30080) }, { localAddresses: ['fd00:172:18::2'] }).verdict).toBe('ACCEPT');
  });
  it('a custom masquerade bit still masquerades', () => {
    const trace = tracer({ ...scenarioInput(), options: { masqueradeBit: 5, serviceCIDRs: ['10.96.0.0/16'] } });
    expect(trace({ family: 'IPv4', ...tcp(CLIENT, '10.96.0.10', 80) }).masquerade).toBe(true);
  });
});

describe('tracer details', () => {
  it('a custom masquerade bit is the one set', () => {
    const ruleset = renderNftables({ ...scenarioInput(), options: { masqueradeBit: 5 } });
    expect(ruleset.tables.IPv4.chains.get('mark-for-masquerade')?.rules).toEqual(['meta mark set meta mark or 0x00000020']);
  });
  it('the tracer refuses a fromLocalPod source outside the local CIDRs', () => {
    const ruleset = renderNftables(scenarioInput());
    expect(() => traceNft(ruleset, { family: 'IPv4', ...tcp(CLIENT, '10.96.0.10', 80, { fromLocalPod: true }) })).toThrow(/local CIDRs/);
  });
  it('hairpin masquerades only the branch where the pod picks itself', () => {
    const got = traceNft(renderNftables(scenarioInput()), { family: 'IPv4', ...tcp('10.244.1.5', '10.96.0.10', 80) });
    const byEndpoint = [...got.branches].sort((a, b) => (a.endpoint ?? '').localeCompare(b.endpoint ?? ''));
    expect(byEndpoint).toEqual([
      { verdict: 'DNAT', endpoint: '10.244.1.5:8080', masquerade: true },
      { verdict: 'DNAT', endpoint: '10.244.2.9:8080', masquerade: false },
    ]);
  });
});
