// Policies that ask the NAT gateway in front of each node (fromNode Gateway): allowed only
// by a grant that lists Gateway, carried into the node plans as exposures with a
// gatewayMapping. Addresses: see test-builders.ts (nodes 172.18.0.n).
import type { V1Node } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import type { NatExposureGrant, NatExposurePolicy } from '@natplan/api';
import { readyCondition } from './policy-status.js';
import { resolveExposures } from './resolve-exposures.js';
import { makeConfig, makeGrant, makeNode, makePolicy, makeService } from './test-builders.js';

const web = makeService('default', 'web', (s) => { s.spec!.ports = [{ name: 'http', protocol: 'TCP', port: 80 }, { name: 'dns', protocol: 'UDP', port: 53 }, { name: 's', protocol: 'SCTP', port: 99 }]; });
const nodes: V1Node[] = [makeNode('node-a', 2), makeNode('node-b', 3, (n) => { n.status!.addresses = [{ type: 'InternalIP', address: 'fd00::3' }]; })];
const gatewayPolicy = (mutate?: (p: NatExposurePolicy) => void) => makePolicy('default', 'p1', '2026-01-01T00:00:00Z', (p) => {
  p.spec.addresses = { fromNode: 'Gateway' };
  mutate?.(p);
});
const gatewayGrant = (mutate?: (g: NatExposureGrant) => void) => makeGrant('g', (g) => { g.spec.addresses = { fromNode: ['Gateway'] }; mutate?.(g); });
const resolve = (policy: NatExposurePolicy, grants: NatExposureGrant[]) => resolveExposures({ policies: [policy], grants, services: [web], nodes }, makeConfig());
const condition = (r: ReturnType<typeof resolve>, type: string) => r.policyStatus.get('default/p1')?.conditions.find((c) => c.type === type);

describe('gateway mapping (fromNode Gateway)', () => {
  it('puts an exposure with gatewayMapping on each node with an IPv4 InternalIP, and says which node has none', () => {
    const r = resolve(gatewayPolicy(), [gatewayGrant()]);
    expect(r.byNode.get('node-a')).toEqual([expect.objectContaining({ address: '172.18.0.2', port: 8080, protocol: 'TCP', gatewayMapping: { externalPort: 8080 } })]);
    expect(r.byNode.has('node-b')).toBe(false);
    expect(condition(r, 'Accepted')).toMatchObject({ status: 'True' });
    expect(condition(r, 'Accepted')?.message).toContain('node node-b has no IPv4 InternalIP');
    expect(r.policyStatus.get('default/p1')?.gatewayMapped).toBe(true);
    // The planner knows only the node address; the shell puts in what the gateway granted.
    expect(r.policyStatus.get('default/p1')?.publicEndpoints).toEqual([expect.objectContaining({ node: 'node-a', address: '172.18.0.2', port: 8080 })]);
  });

  it.each([
    ['no grant at all', []],
    ['a grant of the node addresses, not of the gateway', [makeGrant('g', (g) => { g.spec.addresses = { fromNode: ['InternalIP', 'ExternalIP'] }; })]],
    ['a grant of the gateway for another port', [gatewayGrant((g) => { g.spec.ports = [{ protocol: 'TCP', from: 9000 }]; })]],
    ['a grant of the gateway for another namespace', [gatewayGrant((g) => { g.spec.namespaces = { names: ['other'] }; })]],
  ] as const)('without a grant of the gateway nothing is asked for: %s', (_name, grants) => {
    const r = resolve(gatewayPolicy(), [...grants]);
    expect(r.byNode.size).toBe(0);
    expect(condition(r, 'Accepted')).toMatchObject({ status: 'False', reason: 'GatewayMappingNotGranted' });
    expect(condition(r, 'Accepted')?.message).toContain('a port mapping on the gateway in front of the node 8080/TCP');
  });

  it('a grant of the gateway grants no node address: an InternalIP policy stays NotGranted', () => {
    const r = resolve(makePolicy('default', 'p1', '2026-01-01T00:00:00Z'), [gatewayGrant()]);
    expect(condition(r, 'Accepted')).toMatchObject({ status: 'False', reason: 'NotGranted' });
  });

  it('maps UDP too, and refuses SCTP, which no gateway protocol maps', () => {
    const udp = resolve(gatewayPolicy((p) => { p.spec.ports = [{ servicePort: 53, externalPort: 5353, protocol: 'UDP' }]; }), [gatewayGrant((g) => { g.spec.ports = [{ protocol: 'UDP', from: 5353 }]; })]);
    expect(udp.byNode.get('node-a')).toEqual([expect.objectContaining({ protocol: 'UDP', port: 5353, gatewayMapping: { externalPort: 5353 } })]);
    const sctp = resolve(gatewayPolicy((p) => { p.spec.ports = [{ servicePort: 99, externalPort: 9999, protocol: 'SCTP' }]; }), [gatewayGrant((g) => { g.spec.ports = [{ protocol: 'SCTP', from: 9999 }]; })]);
    expect(condition(sctp, 'Accepted')).toMatchObject({ status: 'False', reason: 'InvalidSpec' });
    expect(sctp.byNode.size).toBe(0);
  });

  it('other modes carry no gatewayMapping', () => {
    const r = resolve(makePolicy('default', 'p1', '2026-01-01T00:00:00Z'), [makeGrant('g')]);
    expect(r.byNode.get('node-a')?.[0]?.gatewayMapping).toBeUndefined();
    expect(r.policyStatus.get('default/p1')?.gatewayMapped).toBe(false);
  });

  it.each([
    ['mapped', 'True', 'True', 'Ready'],
    ['refused', 'False', 'False', 'PortTaken'],
    ['waiting', 'Unknown', 'Unknown', 'AwaitingGateway'],
  ] as const)('Ready follows GatewayMapped once programmed: %s', (_name, gatewayStatus, ready, reason) => {
    const base = [
      { type: 'Accepted', status: 'True', reason: 'Accepted', message: '' },
      { type: 'Programmed', status: 'True', reason: 'Programmed', message: '' },
      { type: 'Conflict', status: 'False', reason: 'NoConflict', message: '' },
    ] as const;
    const gatewayReason = gatewayStatus === 'True' ? 'Mapped' : reason;
    expect(readyCondition([...base, { type: 'GatewayMapped', status: gatewayStatus, reason: gatewayReason, message: '' }])).toMatchObject({ status: ready, reason });
  });
});
