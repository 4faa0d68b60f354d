import { describe, expect, it } from 'vitest';
import { compilePlannerConfig, type PlannerSettings } from './config.js';

const valid: PlannerSettings = {
  mode: 'replace', proxyName: 'natplan', externalIPAllowList: ['192.0.2.0/24'], clusterCIDRs: ['10.244.0.0/16'], masqueradeAll: false, backend: 'auto',
};

describe('compilePlannerConfig', () => {
  it('parses CIDRs and canonicalises cluster CIDRs', () => {
    const compiled = compilePlannerConfig({ ...valid, clusterCIDRs: ['10.244.1.0/16', 'FD00:10:244::/56'], nodePortAddressCIDRs: ['172.18.0.0/16'] });
    expect(compiled.ok && compiled.config.clusterCIDRs).toEqual(['10.244.0.0/16', 'fd00:10:244::/56']);
    expect(compiled.ok && compiled.config.nodePortAddressCIDRs).toHaveLength(1);
    expect(compiled.ok && compiled.config.maxEndpointsPerPart).toBe(100);
    expect(compiled.ok && [...compiled.config.reservedPorts]).toContain(10250);
    expect(compiled.ok && compiled.config.nodePortRange).toEqual({ from: 30000, to: 32767 });
    expect(compiled.ok && compiled.config.apiServerEndpoints).toEqual([]);
  });

  it('reserves natplan\'s own metrics and health ports and kube-proxy\'s healthz by default', () => {
    const compiled = compilePlannerConfig(valid);
    for (const port of [9090, 10261, 10256, 6443, 10250]) expect(compiled.ok && compiled.config.reservedPorts.has(port), String(port)).toBe(true);
  });

  it('parses the node-port range and API server endpoints', () => {
    const compiled = compilePlannerConfig({ ...valid, nodePortRange: '20000-22767', apiServerEndpoints: ['172.18.0.2:6443', '[FD00:172:18::2]:443'] });
    expect(compiled.ok && compiled.config.nodePortRange).toEqual({ from: 20000, to: 22767 });
    expect(compiled.ok && compiled.config.apiServerEndpoints).toEqual([{ address: '172.18.0.2', port: 6443 }, { address: 'fd00:172:18::2', port: 443 }]);
  });

  it('resolves the local-traffic detector and primary node-port addresses', () => {
    const primary = compilePlannerConfig({ ...valid, nodePortAddressCIDRs: ['primary'], detectLocalMode: 'InterfaceNamePrefix', podInterfaceNamePrefix: 'veth' });
    expect(primary.ok && [primary.config.nodePortAddressesPrimary, primary.config.nodePortAddressCIDRs, primary.config.localTraffic])
      .toEqual([true, [], { mode: 'InterfaceNamePrefix', interfaceName: 'veth' }]);
    const defaults = compilePlannerConfig(valid);
    expect(defaults.ok && [defaults.config.nodePortAddressesPrimary, defaults.config.localTraffic]).toEqual([false, { mode: 'ClusterCIDR' }]);
    const noCluster = compilePlannerConfig({ ...valid, clusterCIDRs: [] });
    expect(noCluster.ok && noCluster.config.localTraffic).toEqual({ mode: 'NodeCIDR' });
  });

  it.each<[string, Partial<PlannerSettings>, string]>([
    ['a bad allow-list entry', { externalIPAllowList: ['192.0.2.1'] }, 'externalIPAllowList: "192.0.2.1" is not a CIDR'],
    ['a bad node-port CIDR', { nodePortAddressCIDRs: ['eth0'] }, 'nodePortAddressCIDRs: "eth0" is not a CIDR'],
    ['a bad cluster CIDR', { clusterCIDRs: ['10.244.0.0/40'] }, 'clusterCIDRs: "10.244.0.0/40" is not a CIDR'],
    ['an empty proxy name', { proxyName: ' ' }, 'proxyName: must not be empty'],
    ['a part size over the schema limit', { maxEndpointsPerPart: 1001 }, 'maxEndpointsPerPart: must be an integer from 1 to 1000'],
    ['a reserved port that is not a port', { reservedPorts: [22, 70000] }, 'reservedPorts: 70000 is not a port'],
    ['a node-port range that runs backwards', { nodePortRange: '32767-30000' }, 'nodePortRange: "32767-30000" is not a port range like 30000-32767'],
    ['primary combined with a CIDR', { nodePortAddressCIDRs: ['primary', '172.18.0.0/16'] }, 'nodePortAddressCIDRs: primary cannot be combined with CIDRs'],
    ['an unknown local-traffic mode', { detectLocalMode: 'LocalCIDR' as never }, 'detectLocalMode: "LocalCIDR" is not one of ClusterCIDR, NodeCIDR, BridgeInterface, InterfaceNamePrefix'],
    ['ClusterCIDR without cluster CIDRs', { detectLocalMode: 'ClusterCIDR', clusterCIDRs: [] }, 'detectLocalMode: ClusterCIDR needs clusterCIDRs'],
    ['BridgeInterface without a bridge', { detectLocalMode: 'BridgeInterface' }, 'podBridgeInterface: "" is not an interface name (1-15 of A-Z a-z 0-9 _ . -), required with BridgeInterface'],
    ['an interface prefix with a wildcard', { detectLocalMode: 'InterfaceNamePrefix', podInterfaceNamePrefix: 'veth*' }, 'podInterfaceNamePrefix: "veth*" is not an interface name (1-15 of A-Z a-z 0-9 _ . -), required with InterfaceNamePrefix'],
    ['an API server endpoint with a host name', { apiServerEndpoints: ['kubernetes:443'] }, 'apiServerEndpoints: "kubernetes:443" is not ip:port'],
  ])('refuses %s instead of dropping it', (_name, override, error) => {
    expect(compilePlannerConfig({ ...valid, ...override })).toEqual({ ok: false, errors: [error] });
  });
});
