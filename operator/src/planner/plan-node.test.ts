import { describe, expect, it } from 'vitest';
import type { V1Node } from '@kubernetes/client-node';
import type { NodeNatPlanExposure, NodeNatPlanLocalTraffic } from '@natplan/api';
import type { PlannerSettings } from './config.js';
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
      localTraffic: { mode: 'ClusterCIDR', cidrs: ['10.244.0.0/16', 'fd00:10:244::/56'] },
      masqueradeAll: true,
      backend: 'nftables',
    });
  });

  it.each<[string, string[] | undefined, string[]]>([
    ['default: every InternalIP and ExternalIP, sorted', undefined, ['172.18.0.2', '172.18.0.20', '203.0.113.2', 'fd00:172:18::2']],
    ['CIDRs: every Internal or External IP inside them', ['172.18.0.0/16', '203.0.113.0/24'], ['172.18.0.2', '172.18.0.20', '203.0.113.2']],
    ['CIDRs matching nothing: no node-port addresses', ['192.0.2.0/24'], []],
    ['primary: the first InternalIP of each family', ['primary'], ['172.18.0.2', 'fd00:172:18::2']],
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
    expect(planNode({ node: bare }, makeConfig({ clusterCIDRs: [] }))).toEqual({ nodeName: 'bare', localTraffic: { mode: 'NodeCIDR' }, masqueradeAll: false, backend: 'auto' });
  });

  it.each<[string, Partial<PlannerSettings>, NodeNatPlanLocalTraffic]>([
    ['default with cluster CIDRs: ClusterCIDR', {}, { mode: 'ClusterCIDR', cidrs: ['10.244.0.0/16', 'fd00:10:244::/56'] }],
    ['default without cluster CIDRs: NodeCIDR, the node\'s pod CIDRs', { clusterCIDRs: [] }, { mode: 'NodeCIDR', cidrs: ['10.244.1.0/24', 'fd00:10:244:1::/64'] }],
    ['NodeCIDR chosen although cluster CIDRs are given', { detectLocalMode: 'NodeCIDR' }, { mode: 'NodeCIDR', cidrs: ['10.244.1.0/24', 'fd00:10:244:1::/64'] }],
    ['BridgeInterface: the bridge, no CIDRs', { detectLocalMode: 'BridgeInterface', podBridgeInterface: 'cni0' }, { mode: 'BridgeInterface', interfaceName: 'cni0' }],
    ['InterfaceNamePrefix: the prefix, no CIDRs', { detectLocalMode: 'InterfaceNamePrefix', podInterfaceNamePrefix: 'veth' }, { mode: 'InterfaceNamePrefix', interfaceNamePrefix: 'veth' }],
  ])('local traffic, %s', (_name, settings, expected) => {
    expect(planNode({ node: makeNode('node-a', 1, dualStack) }, makeConfig(settings)).localTraffic).toEqual(expected);
  });

  it('NodeCIDR on a node without pod CIDRs yet: the mode without CIDRs (nothing is local)', () => {
    const bare: V1Node = { metadata: { name: 'bare' } };
    expect(planNode({ node: bare }, makeConfig({ detectLocalMode: 'NodeCIDR' })).localTraffic).toEqual({ mode: 'NodeCIDR' });
  });

  it('primary node-port addresses: ExternalIP when a family has no InternalIP; single-stack gives one', () => {
    const node = makeNode('node-a', 1, (n) => {
      n.status!.addresses = [{ type: 'ExternalIP', address: '203.0.113.2' }, { type: 'InternalIP', address: 'fd00:172:18::2' }, { type: 'InternalIP', address: 'fd00:172:18::3' }];
    });
    expect(planNode({ node }, makeConfig({ nodePortAddressCIDRs: ['primary'] })).nodePortAddresses).toEqual(['203.0.113.2', 'fd00:172:18::2']);
    const v4only = makeNode('node-b', 2);
    expect(planNode({ node: v4only }, makeConfig({ nodePortAddressCIDRs: ['primary'] })).nodePortAddresses).toEqual(['172.18.0.2']);
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
