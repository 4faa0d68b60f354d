/**
 * The kernel check (node-agent/src/applier/*-kernel-check.ts) on real rulesets in a real
 * kernel, in a namespace this test creates: every kind of static object the renderers
 * write (interval sets, the pipapo source-range set, verdict maps, slot maps, affinity,
 * IPv6, exposures) must read back as confirmed — a false "drift" would turn every sync
 * full — and damage must be seen, on nftables, iptables-nft and iptables-legacy.
 * Addresses: the dataplane cluster's (test/dataplane/cluster.ts), only inside the namespace.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Topology, type Host } from '@natplan/e2e/netns';
import { createApplier, type Applier } from '../src/applier/index.js';
import type { Backend, IptablesVariant } from '../src/exec/index.js';
import type { RenderInput } from '../src/render/index.js';
import { dualStack, exposure, nodePlan, service } from './dataplane/plans.js';

const input: RenderInput = {
  node: nodePlan('node-a', (n) => { n.exposures = [exposure('web', '192.0.2.50', 8080, (x) => { x.sourceRanges = ['198.51.100.0/24']; })]; }),
  services: [
    service('web', '10.96.0.10', ['a1', 'a2', 'b1'], (s) => {
      s.ports = [{ name: 'tcp', protocol: 'TCP', port: 80, nodePort: 30080 }];
      s.externalIPs = ['192.0.2.10'];
      s.loadBalancerIPs = ['203.0.113.10'];
      s.loadBalancerSourceRanges = ['198.51.100.0/24', '192.0.2.0/28'];
    }),
    service('sticky', '10.96.0.11', ['a1', 'b1'], (s) => { s.sessionAffinity = { type: 'ClientIP', timeoutSeconds: 60 }; }),
    service('dual', '10.96.0.12', ['a1'], (s) => dualStack(s, 'fd00:10:96::12')),
    service('empty', '10.96.0.13', []),
  ],
  identity: { nodeName: 'node-a', zone: 'zone-1' },
};

let topology: Topology;
let node: Host;

beforeAll(async () => {
  topology = await Topology.create();
  node = await topology.addHost('kcheck');
});
afterAll(async () => { await topology?.destroy(); });

const cases: [string, Backend, IptablesVariant, string[]][] = [
  ['nftables', 'nftables', 'default', ['nft', 'flush', 'chain', 'ip6', 'natplan', 'firewall-check']],
  ['iptables-nft', 'iptables', 'default', ['iptables', '-t', 'filter', '-F', 'NATPLAN-FIREWALL']],
  ['iptables-legacy', 'iptables', 'legacy', ['iptables-legacy', '-t', 'nat', '-F', 'NATPLAN-SERVICES']],
];

describe.each(cases)('kernel check, %s', (_name, backend, variant, damage) => {
  let applier: Applier<RenderInput>;
  beforeAll(() => { applier = createApplier(backend, node.exec, { iptablesVariant: variant }); });
  afterAll(async () => { await applier?.cleanup(); });

  it('confirms every commit of a ruleset with every kind of static object', async () => {
    expect(await applier.apply(input)).toMatchObject({ ok: true, mode: 'full', kernel: { confirmed: true } });
    const unchanged = await applier.apply(input);
    expect(unchanged).toMatchObject({ ok: true, mode: 'unchanged', kernel: { confirmed: true } });
    expect(unchanged.ok && unchanged.driftRepaired).toBeUndefined();
    const smaller = { ...input, services: input.services.slice(0, 3) };
    const incremental = await applier.apply(smaller);
    expect(incremental).toMatchObject({ ok: true, mode: 'incremental', kernel: { confirmed: true } });
    expect(incremental.ok && incremental.driftRepaired).toBeUndefined();
  });

  it('sees a flushed chain at the next sync and repairs it', async () => {
    await node.run(damage);
    const repaired = await applier.apply(input);
    expect(repaired).toMatchObject({ ok: true, mode: 'full', kernel: { confirmed: true }, driftRepaired: expect.stringMatching(/no longer holds the last commit/) });
    expect(await applier.apply(input)).toMatchObject({ ok: true, mode: 'unchanged', kernel: { confirmed: true } });
  });
});
