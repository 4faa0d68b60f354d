import { describe, expect, it } from 'vitest';
import { renderNftables, rulesetCounts } from './nft-render.js';
import { nftCleanupScript, nftColdStartScripts, nftFullSyncScript, nftIncrementalScript, rulesetDigest } from './nft-sync.js';
import { staleUdpEndpoints } from './stale-udp.js';
import { makeEndpoint, makeInput, makeServicePlan } from './testing/builders.js';
import { scenarioInput } from './testing/scenario.js';

// Addresses: see testing/builders.ts.
const web = (endpoints: string[], edit: Parameters<typeof makeServicePlan>[2] = () => {}) =>
  makeServicePlan('ns1', 'web', (s) => { s.endpoints = endpoints.map((a) => makeEndpoint(a)); edit(s); });
const dns = (endpoints: string[]) => makeServicePlan('ns1', 'dns', (s) => {
  s.clusterIPs = ['10.96.0.53'];
  s.ports = [{ name: 'dns', protocol: 'UDP', port: 53 }];
  s.endpoints = endpoints.map((a) => makeEndpoint(a));
});
const lines = (script: string | null): string[] => (script ?? '').split('\n').filter(Boolean);

describe('nftIncrementalScript', () => {
  it('returns null when nothing changed', () => {
    expect(nftIncrementalScript(renderNftables(scenarioInput()), renderNftables(scenarioInput()))).toBeNull();
  });

  it('adding an endpoint moves the cluster IP to the shared 3-slot chains and adds its slot and hairpin elements', () => {
    const before = renderNftables(makeInput([web(['10.244.2.1', '10.244.2.2'])]));
    const after = renderNftables(makeInput([web(['10.244.2.1', '10.244.2.2', '10.244.2.3'])]));
    const script = lines(nftIncrementalScript(before, after));
    expect(script.filter((l) => !l.startsWith('add rule'))).toEqual([
      'add chain ip natplan frontend-cluster-tcp-3',
      'add chain ip natplan svc-cluster-tcp-3',
      'delete element ip natplan service-ips { 10.96.0.10 . tcp . 80 }',
      'add element ip natplan hairpin { 10.244.2.3 . 10.244.2.3 }',
      'add element ip natplan frontend-slots-tcp { 10.96.0.10 . 80 . 2 : 10.244.2.3 . 8080 }',
      'add element ip natplan service-ips { 10.96.0.10 . tcp . 80 comment "ns1/web:http" : goto svc-cluster-tcp-3 }',
      // No other Service has two endpoints: the shared 2-slot chains go.
      'flush chain ip natplan frontend-cluster-tcp-2',
      'flush chain ip natplan svc-cluster-tcp-2',
      'delete chain ip natplan frontend-cluster-tcp-2',
      'delete chain ip natplan svc-cluster-tcp-2',
    ]);
    expect(script.filter((l) => l.startsWith('add rule'))).toEqual([
      'add rule ip natplan frontend-cluster-tcp-3 meta l4proto tcp dnat ip to ip daddr . tcp dport . numgen random mod 3 map @frontend-slots-tcp',
      'add rule ip natplan svc-cluster-tcp-3 ip saddr != @local-cidrs jump mark-for-masquerade',
      'add rule ip natplan svc-cluster-tcp-3 goto frontend-cluster-tcp-3',
    ]);
  });

  it('with affinity, an added endpoint brings its chain and affinity set', () => {
    const sticky = (endpoints: string[]) => web(endpoints, (s) => { s.sessionAffinity = { type: 'ClientIP', timeoutSeconds: 60 }; });
    const script = lines(nftIncrementalScript(renderNftables(makeInput([sticky(['10.244.2.1'])])), renderNftables(makeInput([sticky(['10.244.2.1', '10.244.2.2'])]))));
    expect(script.filter((l) => l.startsWith('add chain') || l.startsWith('add set'))).toEqual([
      expect.stringMatching(/^add chain ip natplan ep-[0-9a-f]{16}$/),
      expect.stringMatching(/^add set ip natplan aff-[0-9a-f]{16} \{ type ipv4_addr; flags dynamic,timeout; timeout 60s; \}$/),
    ]);
  });

  it('a Service losing its endpoints moves its frontend to the reject map and deletes its chains', () => {
    const before = renderNftables(makeInput([web(['10.244.2.1'])]));
    const after = renderNftables(makeInput([web([])]));
    const script = lines(nftIncrementalScript(before, after));
    const firstDelete = script.findIndex((l) => l.startsWith('delete element ip natplan service-ips { 10.96.0.10 . tcp . 80 }'));
    const firstChainDelete = script.findIndex((l) => l.startsWith('delete chain'));
    expect(firstDelete).toBeGreaterThanOrEqual(0);
    expect(firstChainDelete).toBeGreaterThan(firstDelete);
    expect(script).toContain('add element ip natplan no-endpoint-services { 10.96.0.10 . tcp . 80 : goto reject-packet }');
    // The shared chains of one-endpoint cluster lists had no other user.
    expect(script.filter((l) => l.startsWith('delete chain')).sort()).toEqual([
      'delete chain ip natplan frontend-cluster-tcp-1', 'delete chain ip natplan svc-cluster-tcp-1',
    ]);
    expect(script).toContain('delete element ip natplan frontend-slots-tcp { 10.96.0.10 . 80 . 0 }');
    expect(script).toContain('delete element ip natplan hairpin { 10.244.2.1 . 10.244.2.1 }');
  });

  it('changing the node plan only touches the skeleton sets it affects', () => {
    const before = renderNftables(makeInput([web(['10.244.2.1'])]));
    const after = renderNftables(makeInput([web(['10.244.2.1'])], (n) => { n.localTraffic = { mode: 'ClusterCIDR', cidrs: ['10.244.0.0/16', '10.245.0.0/16', 'fd00:10:244::/56'] }; }));
    expect(lines(nftIncrementalScript(before, after))).toEqual(['add element ip natplan local-cidrs { 10.245.0.0/16 }']);
  });
});

describe('nftFullSyncScript', () => {
  it('never deletes the table and never flushes dynamic affinity sets', () => {
    const script = nftFullSyncScript(renderNftables(scenarioInput()));
    expect(script).not.toMatch(/delete table/);
    expect(script).toMatch(/add set ip natplan aff-[0-9a-f]{16} \{ type ipv4_addr; flags dynamic,timeout; timeout 600s; \}/);
    expect(script).not.toMatch(/flush set ip natplan aff-/);
  });

  it('deletes objects that the previous state had and the desired one lacks', () => {
    const previous = renderNftables(makeInput([web(['10.244.2.1'])]));
    // A Service CIDR keeps the IPv4 skeleton: only the Service's own two chains go.
    const desired = renderNftables(makeInput([], (n) => { n.serviceCIDRs = ['10.96.0.0/16']; }));
    const script = lines(nftFullSyncScript(desired, previous));
    expect(script.filter((l) => l.startsWith('delete chain'))).toHaveLength(2);
  });
});

describe('nftColdStartScripts', () => {
  const many = makeInput(Array.from({ length: 40 }, (_, i) => makeServicePlan('ns1', `svc${i}`, (s) => {
    s.clusterIPs = [`10.96.1.${i}`];
    s.endpoints = [makeEndpoint(`10.244.2.${i}`), makeEndpoint(`10.244.3.${i}`)];
  })));
  it('splits into chunks no larger than the limit (after the skeleton)', () => {
    const scripts = nftColdStartScripts(renderNftables(many), 25);
    expect(scripts.length).toBeGreaterThan(5);
    for (const script of scripts.slice(1)) {
      const ops = lines(script).reduce((n, l) => n + (l.includes(' { ') && l.startsWith('add element') ? l.split(',').length : 1), 0);
      expect(ops).toBeLessThanOrEqual(25);
    }
  });
  it('makes Services reachable only in the last chunks, after every chain is filled', () => {
    const all = nftColdStartScripts(renderNftables(many), 25).flatMap(lines);
    const firstElement = all.findIndex((l) => l.startsWith('add element ip natplan service-ips'));
    const lastRule = all.map((l) => /^add rule ip6? natplan (cl|svc)-/.test(l)).lastIndexOf(true);
    expect(lastRule).toBeGreaterThan(0);
    expect(firstElement).toBeGreaterThan(lastRule);
  });
});

describe('cleanup, digest, counts', () => {
  it('cleanup adds before deleting, so it succeeds on an absent table', () => {
    expect(nftCleanupScript()).toBe('add table ip natplan\ndelete table ip natplan\nadd table ip6 natplan\ndelete table ip6 natplan\n');
  });
  it('the digest is stable and follows content', () => {
    const a = rulesetDigest(renderNftables(scenarioInput()));
    expect(a).toMatch(/^fnv1a64:[0-9a-f]{16}$/);
    expect(rulesetDigest(renderNftables(scenarioInput()))).toBe(a);
    expect(rulesetDigest(renderNftables(scenarioInput((n) => { n.masqueradeAll = true; })))).not.toBe(a);
  });
  it('does not depend on the order of the inputs', () => {
    const input = scenarioInput();
    const reversed = { ...input, services: [...input.services].reverse() };
    expect(nftFullSyncScript(renderNftables(reversed))).toBe(nftFullSyncScript(renderNftables(input)));
  });
  it('counts Services, endpoints and resolved exposures', () => {
    expect(rulesetCounts(renderNftables(scenarioInput()))).toEqual({ services: 14, endpoints: 20, exposures: 3 });
  });
});

describe('staleUdpEndpoints', () => {
  it.each([
    { name: 'nothing changed', before: ['10.244.2.1'], after: ['10.244.2.1'], want: [] },
    { name: 'an endpoint went away', before: ['10.244.2.1', '10.244.2.2'], after: ['10.244.2.1'], want: [{ address: '10.244.2.2', port: 5353, match: 'reply-source' }] },
    { name: 'first endpoint appeared', before: [], after: ['10.244.2.1'], want: [{ address: '10.96.0.53', port: 53, match: 'original-destination' }] },
  ])('$name', ({ before, after, want }) => {
    expect(staleUdpEndpoints(renderNftables(makeInput([dns(before)])), renderNftables(makeInput([dns(after)])))).toEqual(want);
  });
  it('ignores TCP endpoints', () => {
    expect(staleUdpEndpoints(renderNftables(makeInput([web(['10.244.2.1'])])), renderNftables(makeInput([web([])])))).toEqual([]);
  });
});
