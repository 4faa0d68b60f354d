/**
 * Differential property: for generated plans, the nftables and iptables renderings treat
 * every frontend the same for every kind of client (traced through both models).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { familyOf } from '@natplan/netaddr';
import { renderIptables } from './iptables-render.js';
import { traceIptables } from './testing/iptables-trace.js';
import { renderNftables } from './nft-render.js';
import type { TracePacket } from './testing/nft-trace.js';
import { traceNft } from './testing/nft-trace.js';
import type { RenderInput } from './plan.js';
import { renderInput } from './testing/arbitraries.js';
import { makeEndpoint, makeInput, makeServicePlan } from './testing/builders.js';

// Addresses: see testing/builders.ts.
const SOURCES = {
  IPv4: [{ source: '203.0.113.5' }, { source: '192.0.2.77' }, { source: '10.244.1.30', inInterface: 'cni0' }, { source: '10.244.1.31', inInterface: 'veth12ab' },
    { source: '10.244.2.30' }, { source: '172.18.0.2', fromNode: true }],
  IPv6: [{ source: '2001:db8::5' }, { source: 'fd00:10:244:1::30', inInterface: 'veth12ab' }, { source: 'fd00:172:18::2', fromNode: true }],
} as const;
const NODE = { IPv4: '172.18.0.2', IPv6: 'fd00:172:18::2' } as const;

function packetsFor(input: RenderInput): TracePacket[] {
  const destinations: { destination: string; port: number; protocol: TracePacket['protocol'] }[] = [];
  for (const { spec } of input.services) {
    for (const port of spec.ports ?? []) {
      for (const address of [...(spec.clusterIPs ?? []), ...(spec.externalIPs ?? []), ...(spec.loadBalancerIPs ?? [])]) {
        destinations.push({ destination: address, port: port.port, protocol: port.protocol });
      }
      if (port.nodePort) for (const address of Object.values(NODE)) destinations.push({ destination: address, port: port.nodePort, protocol: port.protocol });
    }
  }
  for (const x of input.node.exposures ?? []) destinations.push({ destination: x.address, port: x.port, protocol: x.protocol });
  // Wrong ports and unallocated Service addresses.
  for (const { spec } of input.services) for (const ip of spec.clusterIPs ?? []) destinations.push({ destination: ip, port: 1, protocol: 'TCP' });
  destinations.push({ destination: '10.96.255.254', port: 80, protocol: 'TCP' }, { destination: 'fd00:10:96::fffe', port: 80, protocol: 'UDP' });
  // A load-balancer IP as its own source (the node holding the VIP, a load balancer's hairpin).
  const selfSourced = input.services.flatMap(({ spec }) => (spec.loadBalancerIPs ?? []).flatMap((ip) => (spec.ports ?? []).map((port) => (
    { family: familyOf(ip) ?? 'IPv4', destination: ip, port: port.port, protocol: port.protocol, source: ip }))));
  return [...destinations.flatMap((d) => {
    const family = familyOf(d.destination) ?? 'IPv4';
    return SOURCES[family].map((s) => ({ family, ...d, ...s }));
  }), ...selfSourced];
}

// Two Services on one node port, the first without endpoints: a plan the API server never
// makes (it allocates each node port once), which fast-check found now and then. Both
// backends give the port to the first Service.
const sharedNodePort = makeInput([
  makeServicePlan('ns1', 'svc0', (s) => { s.ports = [{ name: 'http', protocol: 'TCP', port: 80, nodePort: 30080 }]; s.endpoints = []; }),
  makeServicePlan('ns1', 'svc1', (s) => {
    s.clusterIPs = ['10.96.0.11'];
    s.ports = [{ name: 'http', protocol: 'TCP', port: 80, nodePort: 30080 }];
    s.endpoints = [makeEndpoint('10.244.2.5')];
  }),
]);

describe('nftables and iptables agree', () => {
  it('property: same verdict, endpoints and masquerade for every frontend and client kind', () => {
    fc.assert(fc.property(renderInput(4), (input) => {
      const nft = renderNftables(input);
      const ipt = renderIptables(input);
      // Exposure addresses held by the node, and the same addresses as other hosts.
      const exposureAddresses = (input.node.exposures ?? []).map((x) => x.address);
      for (const host of [{ localAddresses: [...Object.values(NODE), ...exposureAddresses] }, { localAddresses: Object.values(NODE) }]) {
        for (const packet of packetsFor(input)) {
          const a = traceNft(nft, packet, host);
          const b = traceIptables(ipt, packet, host);
          const summary = (r: typeof a) => ({ verdict: r.verdict, endpoints: r.endpoints, masquerade: r.masquerade });
          expect({ packet, host, ...summary(b) }).toEqual({ packet, host, ...summary(a) });
        }
      }
    }), { numRuns: 60, examples: [[sharedNodePort]] });
  }, 60_000);
});
