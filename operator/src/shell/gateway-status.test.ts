import { describe, expect, it } from 'vitest';
import type { NatExposurePolicyPublicEndpoint, NodeNatPlan, NodeNatPlanGatewayMapping } from '@natplan/api';
import { gatewayMappedStatus } from './gateway-status.js';

// Addresses: nodes 172.18.0.0/24; the gateway's external address 11.18.0.1 (as in the e2e test).
const policy = { namespace: 'shop', name: 'mapped-web' };
const pe = (node: string, address: string): NatExposurePolicyPublicEndpoint => ({ node, service: 'web', address, port: 8080, protocol: 'TCP', readyEndpoints: 2 });
const plan = (node: string, address: string, mapping: Partial<NodeNatPlanGatewayMapping> | undefined, asked = true): NodeNatPlan => ({
  apiVersion: 'natplan.io/v1alpha1', kind: 'NodeNatPlan', metadata: { name: node },
  spec: { nodeName: node, exposures: [{ policy, service: 'web', servicePort: 80, address, port: 8080, protocol: 'TCP', sourceNAT: 'Masquerade', ...(asked ? { gatewayMapping: { externalPort: 8080 } } : {}) }] },
  status: mapping ? { gatewayMappings: [{ address, port: 8080, protocol: 'TCP', state: 'Pending', ...mapping }] } : {},
});
const mapped = { state: 'Mapped', externalAddress: '11.18.0.1', externalPort: 8080, via: 'PCP' } as const;

describe('GatewayMapped and the public endpoints, from what the agents report', () => {
  it('every node mapped: the public endpoints carry the external address the gateway discovered', () => {
    const plans = new Map([['node-a', plan('node-a', '172.18.0.2', mapped)], ['node-b', plan('node-b', '172.18.0.3', { ...mapped, externalPort: 8080 })]]);
    const out = gatewayMappedStatus([pe('node-a', '172.18.0.2'), pe('node-b', '172.18.0.3')], true, (n) => plans.get(n));
    expect(out.publicEndpoints.map((p) => `${p.node} ${p.address}:${p.port}`)).toEqual(['node-a 11.18.0.1:8080', 'node-b 11.18.0.1:8080']);
    expect(out.condition).toMatchObject({ status: 'True', reason: 'Mapped' });
    expect(out.condition.message).toContain('11.18.0.1');
  });

  it.each(['NotAuthorized', 'PortTaken', 'NoGateway'])('a refusal names its reason (%s) and the node, and that endpoint is not public', (reason) => {
    const plans = new Map([['node-a', plan('node-a', '172.18.0.2', mapped)], ['node-b', plan('node-b', '172.18.0.3', { state: 'Refused', reason, message: 'gateway said no' })]]);
    const out = gatewayMappedStatus([pe('node-a', '172.18.0.2'), pe('node-b', '172.18.0.3')], true, (n) => plans.get(n));
    expect(out.condition).toMatchObject({ status: 'False', reason });
    expect(out.condition.message).toContain('node node-b');
    expect(out.publicEndpoints.map((p) => p.node)).toEqual(['node-a']);
  });

  it.each([
    ['no report yet', undefined, true],
    ['asked, no answer yet', { state: 'Pending' }, true],
    ['a report for an exposure the spec no longer asks the gateway for', mapped, false],
  ] as const)('waits: %s', (_name, mapping, asked) => {
    const out = gatewayMappedStatus([pe('node-a', '172.18.0.2')], true, () => plan('node-a', '172.18.0.2', mapping, asked));
    expect(out.condition).toMatchObject({ status: 'Unknown', reason: 'AwaitingGateway' });
    expect(out.publicEndpoints).toEqual([]);
  });

  it('nothing is asked for a policy that is not accepted', () => {
    const out = gatewayMappedStatus([], false, () => undefined);
    expect(out.condition).toMatchObject({ status: 'False', reason: 'NotRequested' });
  });
});
