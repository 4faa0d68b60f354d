import { describe, expect, it } from 'vitest';
import { nftFullSyncScript } from './nft-sync.js';
import { renderNftables } from './nft-render.js';
import { disjointCidrs, resolvePlan } from './plan.js';
import { makeEndpoint, makeExposure, makeInput, makeServicePlan } from './testing/builders.js';
import { NftTransaction } from './transaction.js';

// Addresses: see testing/builders.ts.
describe('disjointCidrs', () => {
  it('drops CIDRs covered by others, so interval sets never overlap', () => {
    expect(disjointCidrs(['10.244.1.0/24', '10.244.0.0/16', '10.244.0.0/16', '203.0.113.0/24'])).toEqual(['10.244.0.0/16', '203.0.113.0/24']);
  });
});

describe('load-balancer source ranges', () => {
  // The Service's own LB IPs are allowed sources too (plan.ts, withOwnAddresses).
  const allowed = (ranges: string[], lbIPs: string[]): Record<string, string[] | undefined> => {
    const plan = resolvePlan(makeInput([makeServicePlan('ns1', 'lb', (s) => {
      s.ipFamilies = ['IPv4', 'IPv6'];
      s.loadBalancerIPs = lbIPs;
      s.loadBalancerSourceRanges = ranges;
    })]));
    return { IPv4: plan.families.IPv4.services[0]?.loadBalancerSourceRanges, IPv6: plan.families.IPv6.services[0]?.loadBalancerSourceRanges };
  };
  it.each([
    ['an LB IP outside the ranges is added as a host prefix', ['203.0.113.0/24'], ['198.51.100.9'], { IPv4: ['198.51.100.9/32', '203.0.113.0/24'], IPv6: [] }],
    ['an LB IP inside a range adds nothing (no overlapping intervals)', ['198.51.100.0/24'], ['198.51.100.9'], { IPv4: ['198.51.100.0/24'], IPv6: [] }],
    ['a family without ranges allows only its LB IPs', ['203.0.113.0/24'], ['198.51.100.9', '2001:db8::9'], { IPv4: ['198.51.100.9/32', '203.0.113.0/24'], IPv6: ['2001:db8::9/128'] }],
    ['no ranges: no firewall at all', [], ['198.51.100.9'], { IPv4: undefined, IPv6: undefined }],
  ])('%s', (_, ranges, lbIPs, want) => { expect(allowed(ranges, lbIPs)).toEqual(want); });
});

describe('NftTransaction', () => {
  it.each([
    ['a chain name with a space', { kind: 'chain', family: 'IPv4', name: 'bad name' }],
    ['a rule with a newline', { kind: 'rule', family: 'IPv4', chain: 'services', rule: 'drop\nadd table ip x' }],
    ['a rule with a statement separator', { kind: 'rule', family: 'IPv4', chain: 'services', rule: 'drop; flush ruleset' }],
    ['a rule with an unbalanced quote', { kind: 'rule', family: 'IPv4', chain: 'services', rule: 'drop comment "x' }],
    ['an element key with a brace', { kind: 'element', family: 'IPv4', set: 'service-ips', key: '1.2.3.4 }', value: 'drop' }],
  ] as const)('reports %s instead of throwing', (_, object) => {
    const tx = new NftTransaction().add({ kind: 'table', family: 'IPv4' }).add(object).add({ kind: 'table', family: 'IPv6' });
    expect(tx.validate()).toMatch(/invalid/);
    expect(tx.toScript()).toEqual({ error: tx.validate() });
  });
  it('groups consecutive elements of one set on one line', () => {
    const tx = new NftTransaction();
    for (const key of ['10.0.0.1', '10.0.0.2']) tx.add({ kind: 'element', family: 'IPv4', set: 'nodeport-ips', key });
    tx.delete({ kind: 'element', family: 'IPv4', set: 'nodeport-ips', key: '10.0.0.3' });
    expect(tx.toScript()).toEqual({ script: 'add element ip natplan nodeport-ips { 10.0.0.1, 10.0.0.2 }\ndelete element ip natplan nodeport-ips { 10.0.0.3 }\n' });
  });
});

describe('invalid or conflicting input is reported and left out', () => {
  it.each([
    { name: 'bad endpoint address', input: makeInput([makeServicePlan('ns1', 'web', (s) => { s.endpoints = [makeEndpoint('10.244.2.300')]; })]), problem: /invalid endpoint address/ },
    { name: 'bad cluster IP', input: makeInput([makeServicePlan('ns1', 'web', (s) => { s.clusterIPs = ['10.96.0.1; drop']; })]), problem: /invalid cluster IP/ },
    { name: 'a later part without part 0', input: makeInput([makeServicePlan('ns1', 'web', () => {}, 1)]), problem: /no part 0/ },
    { name: 'bad local-traffic CIDR', input: makeInput([], (n) => { n.localTraffic = { mode: 'NodeCIDR', cidrs: ['10.244.1.0/40'] }; }), problem: /invalid CIDR/ },
    { name: 'bad pod interface', input: makeInput([], (n) => { n.localTraffic = { mode: 'BridgeInterface', interfaceName: 'cni0" accept' }; }), problem: /invalid interface/ },
    { name: 'exposure on a Service LB IP', input: makeInput([makeServicePlan('ns1', 'web', (s) => { s.loadBalancerIPs = ['198.51.100.7']; })], (n) => { n.exposures = [makeExposure('web', (x) => { x.address = '198.51.100.7'; x.port = 80; })]; }), problem: /claimed by Service port ns1\/web:http; exposure/ },
    { name: 'exposure on loopback', input: makeInput([makeServicePlan('ns1', 'web')], (n) => { n.exposures = [makeExposure('web', (x) => { x.address = '127.0.0.1'; })]; }), problem: /exposure "127.0.0.1":8080: not a unicast address; skipped/ },
    { name: 'exposure on the unspecified IPv6 address', input: makeInput([makeServicePlan('ns1', 'web')], (n) => { n.exposures = [makeExposure('web', (x) => { x.address = '::'; })]; }), problem: /exposure "::":8080: not a unicast address; skipped/ },
    { name: 'two Services on one node port', input: makeInput(['a', 'b'].map((name, i) => makeServicePlan('ns1', name, (s) => { s.clusterIPs = [`10.96.0.${i + 1}`]; s.ports = [{ name: 'http', protocol: 'TCP', port: 80, nodePort: 30080 }]; }))), problem: /node port tcp . 30080: claimed by Service port ns1\/a:http; Service port ns1\/b:http skipped/ },
  ])('$name', ({ input, problem }) => {
    const ruleset = renderNftables(input);
    expect(ruleset.problems).toEqual(expect.arrayContaining([expect.stringMatching(problem)]));
    expect(nftFullSyncScript(ruleset)).not.toMatch(/natplan renderer bug/);
  });
  it('an invalid masquerade bit falls back to the default', () => {
    const ruleset = renderNftables({ ...makeInput([], (n) => { n.serviceCIDRs = ['10.96.0.0/16']; }), options: { masqueradeBit: 40 } });
    expect(ruleset.problems).toEqual(['masqueradeBit 40 is not in 0..31; using 14']);
    expect(ruleset.tables.IPv4.chains.get('mark-for-masquerade')?.rules).toEqual(['meta mark set meta mark or 0x00004000']);
  });
});
