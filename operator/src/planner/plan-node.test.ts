import { describe, expect, it } from 'vitest';
import type { V1Node } from '@kubernetes/client-node';
import type { NodeNatPlanExposure } from '../../../crds/generated/types.js';
import { planNode } from './plan-node.js';
import { makeConfig, makeNode } from './test-builders.js';

const dualStack = (n: V1Node) => {
  n.spec!.podCIDRs = ['10.244.1.0/24', 'fd00:10:244:1::/64'];
  n.status!.addresses = [
    { type: 'InternalIP', address: '172.18.0.2' },
    { type: 'InternalIP', address: '172.18.0.20' },
    { type: 'InternalIP', address: 'FD00:172:18::2' },
    { type: 'ExternalIP', address: '203.0.113.2' },
    { type: 'Hostname', address: 'node-a' },
  ];
};

describe('planNode', () => {
  it('copies node facts and operator settings', () => {
    expect(planNode({ node: makeNode('node-a', 2) }, makeConfig({ masqueradeAll: true, backend: 'nftables' }))).toEqual({
      nodeName: 'node-a',
      zone: 'zone-1',
      nodePortAddresses: ['172.18.0.2'],
      podCIDRs: ['10.244.2.0/24'],
      clusterCIDRs: ['10.244.0.0/16', 'fd00:10:244::/56'],
      masqueradeAll: true,
      backend: 'nftables',
    });
  });

  it.each<[string, string[] | undefined, string[]]>([
    ['default: every InternalIP and ExternalIP, sorted', undefined, ['172.18.0.2', '172.18.0.20', '203.0.113.2', 'fd00:172:18::2']],
    ['CIDRs: every Internal or External IP inside them', ['172.18.0.0/16', '203.0.113.0/24'], ['172.18.0.2', '172.18.0.20', '203.0.113.2']],
    ['CIDRs matching nothing: no node-port addresses', ['192.0.2.0/24'], []],
  ])('node-port addresses, %s', (_name, cidrs, expected) => {
    const spec = planNode({ node: makeNode('node-a', 2, dualStack) }, makeConfig(cidrs ? { nodePortAddressCIDRs: cidrs } : {}));
    expect(spec.nodePortAddresses ?? []).toEqual(expected);
  });

  it('dual-stack pod CIDRs, canonical; the legacy podCIDR when podCIDRs is absent', () => {
    expect(planNode({ node: makeNode('node-a', 1, dualStack) }, makeConfig()).podCIDRs).toEqual(['10.244.1.0/24', 'fd00:10:244:1::/64']);
    const legacy = makeNode('node-b', 3, (n) => { n.spec = { podCIDR: '10.244.3.7/24' }; });
    expect(planNode({ node: legacy }, makeConfig()).podCIDRs).toEqual(['10.244.3.0/24']);
  });

  it('leaves out what the node does not have', () => {
    const bare: V1Node = { metadata: { name: 'bare' } };
    expect(planNode({ node: bare }, makeConfig({ clusterCIDRs: [] }))).toEqual({ nodeName: 'bare', masqueradeAll: false, backend: 'auto' });
  });

  it('sorts exposures by address, port, protocol whatever their input order', () => {
    const exposure = (address: string, port: number, protocol: 'TCP' | 'UDP'): NodeNatPlanExposure => ({
      policy: { namespace: 'default', name: 'p' }, service: 'web', servicePort: 80, address, port, protocol, sourceNAT: 'Masquerade',
    });
    const exposures = [exposure('172.18.0.2', 8080, 'UDP'), exposure('172.18.0.2', 8080, 'TCP'), exposure('172.18.0.2', 443, 'TCP'), exposure('172.18.0.10', 9000, 'TCP')];
    const spec = planNode({ node: makeNode('node-a', 2), exposures }, makeConfig());
    expect(spec.exposures?.map((e) => `${e.address}:${e.port}/${e.protocol}`)).toEqual([
      '172.18.0.10:9000/TCP', '172.18.0.2:443/TCP', '172.18.0.2:8080/TCP', '172.18.0.2:8080/UDP',
    ]);
  });
});
