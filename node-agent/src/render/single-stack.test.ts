/**
 * Single-stack nodes: the family a node does not use gets no hooks, so its packets meet no
 * natplan rule, and the family it uses works as on a dual-stack node.
 */
import { describe, expect, it } from 'vitest';
import type { NodeNatPlanSpec } from '@natplan/api';
import { renderIptables } from './iptables-render.js';
import { traceIptables } from './testing/iptables-trace.js';
import { renderNftables } from './nft-render.js';
import { nftIncrementalScript } from './nft-sync.js';
import { traceNft } from './testing/nft-trace.js';
import { makeEndpoint, makeInput, makeServicePlan } from './testing/builders.js';

// Addresses: see testing/builders.ts.
const ipv4Only = (n: NodeNatPlanSpec): void => {
  n.nodePortAddresses = ['172.18.0.2'];
  n.podCIDRs = ['10.244.1.0/24'];
  n.clusterCIDRs = ['10.244.0.0/16'];
  n.serviceCIDRs = ['10.96.0.0/16'];
  n.localTraffic = { mode: 'ClusterCIDR', cidrs: ['10.244.0.0/16'] };
};
const ipv6Only = (n: NodeNatPlanSpec): void => {
  n.nodePortAddresses = ['fd00:172:18::2'];
  n.podCIDRs = ['fd00:10:244:1::/64'];
  n.clusterCIDRs = ['fd00:10:244::/56'];
  n.serviceCIDRs = ['fd00:10:96::/108'];
  n.localTraffic = { mode: 'ClusterCIDR', cidrs: ['fd00:10:244::/56'] };
};
const web4 = makeServicePlan('ns1', 'web', (s) => {
  s.ports = [{ name: 'http', protocol: 'TCP', port: 80, nodePort: 30080 }];
  s.endpoints = [makeEndpoint('10.244.2.9')];
});
const web6 = makeServicePlan('ns1', 'web6', (s) => {
  s.ipFamilies = ['IPv6'];
  s.clusterIPs = ['fd00:10:96::10'];
  s.ports = [{ name: 'http', protocol: 'TCP', port: 80, nodePort: 30080 }];
  s.endpoints = [makeEndpoint('fd00:10:244:2::9')];
});

describe('single-stack nodes', () => {
  it('IPv4 only: the ip6 table hooks nothing and IPv6 passes untouched on both backends', () => {
    const input = makeInput([web4], ipv4Only);
    const nft = renderNftables(input);
    expect(nft.problems).toEqual([]);
    expect(nft.tables.IPv6.chains.size).toBe(0);
    expect([...nft.tables.IPv4.chains.values()].filter((c) => c.base).length).toBe(8);
    const v6 = { family: 'IPv6' as const, source: '2001:db8::5', destination: 'fd00:10:96::99', port: 80, protocol: 'tcp' as const };
    expect(traceNft(nft, v6).verdict).toBe('ACCEPT');
    expect(traceIptables(renderIptables(input), v6).verdict).toBe('ACCEPT');
    const v4 = { family: 'IPv4' as const, source: '203.0.113.5', destination: '172.18.0.2', port: 30080, protocol: 'tcp' as const };
    expect(traceNft(nft, v4).endpoints).toEqual(['10.244.2.9:8080']);
    expect(traceIptables(renderIptables(input), v4).endpoints).toEqual(['10.244.2.9:8080']);
  });

  it('IPv6 only: the ip table hooks nothing, IPv6 Services work', () => {
    const input = makeInput([web6], ipv6Only);
    const nft = renderNftables(input);
    expect(nft.problems).toEqual([]);
    expect(nft.tables.IPv4.chains.size).toBe(0);
    const v6 = { family: 'IPv6' as const, source: '2001:db8::5', destination: 'fd00:172:18::2', port: 30080, protocol: 'tcp' as const };
    expect(traceNft(nft, v6).endpoints).toEqual(['[fd00:10:244:2::9]:8080']);
    expect(traceIptables(renderIptables(input), v6).endpoints).toEqual(['[fd00:10:244:2::9]:8080']);
  });

  it('the first Service of the other family adds that family\'s hooks incrementally; the last one removes them', () => {
    const before = renderNftables(makeInput([web4], ipv4Only));
    const after = renderNftables(makeInput([web4, web6], ipv4Only));
    expect(after.tables.IPv6.chains.size).toBeGreaterThan(0);
    const script = nftIncrementalScript(before, after) ?? '';
    expect(script).toContain('add chain ip6 natplan nat-prerouting { type nat hook prerouting priority -100; policy accept; }');
    const back = nftIncrementalScript(after, before) ?? '';
    expect(back).toContain('delete chain ip6 natplan nat-prerouting');
  });
});
