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
  });

  it.each<[string, Partial<PlannerSettings>, string]>([
    ['a bad allow-list entry', { externalIPAllowList: ['192.0.2.1'] }, 'externalIPAllowList: "192.0.2.1" is not a CIDR'],
    ['a bad node-port CIDR', { nodePortAddressCIDRs: ['eth0'] }, 'nodePortAddressCIDRs: "eth0" is not a CIDR'],
    ['a bad cluster CIDR', { clusterCIDRs: ['10.244.0.0/40'] }, 'clusterCIDRs: "10.244.0.0/40" is not a CIDR'],
    ['an empty proxy name', { proxyName: ' ' }, 'proxyName: must not be empty'],
    ['a part size over the schema limit', { maxEndpointsPerPart: 1001 }, 'maxEndpointsPerPart: must be an integer from 1 to 1000'],
    ['a reserved port that is not a port', { reservedPorts: [22, 70000] }, 'reservedPorts: 70000 is not a port'],
  ])('refuses %s instead of dropping it', (_name, override, error) => {
    expect(compilePlannerConfig({ ...valid, ...override })).toEqual({ ok: false, errors: [error] });
  });
});
