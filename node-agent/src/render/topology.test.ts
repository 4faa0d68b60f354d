// The agent's half of topology-aware routing: which forCluster endpoints this node keeps,
// given the node and zone hints the operator left after its safeguards (see
// operator/src/planner/traffic.ts). Addresses: see testing/builders.ts; this node is
// node-a in zone-1.
import { describe, expect, it } from 'vitest';
import type { ServiceNatPlanEndpoint } from '@natplan/api';
import { resolvePlan } from './plan.js';
import type { NodeIdentity } from './plan.js';
import { THIS_NODE, THIS_ZONE, makeEndpoint, makeInput, makeServicePlan } from './testing/builders.js';

type Hints = Pick<ServiceNatPlanEndpoint, 'forNodes' | 'forZones' | 'forCluster'>;

/** The cluster endpoints this node uses for a Service whose endpoints carry `hints`, by address. */
function kept(endpoints: Record<string, Hints>, identity: NodeIdentity = { nodeName: THIS_NODE, zone: THIS_ZONE }): string[] {
  const svc = makeServicePlan('ns1', 'svc1', (s) => {
    s.endpoints = Object.entries(endpoints).map(([address, hints]) => makeEndpoint(address, (e) => { Object.assign(e, hints); }));
  });
  const plan = resolvePlan({ ...makeInput([svc]), identity });
  return (plan.families.IPv4.services[0]?.clusterEndpoints ?? []).map((b) => b.address);
}

describe('topology hints on the node', () => {
  it.each<[string, Record<string, Hints>, string[]]>([
    ['no hints: every forCluster endpoint', {
      '10.244.1.5': {}, '10.244.2.9': {}, '10.244.3.3': { forCluster: false },
    }, ['10.244.1.5', '10.244.2.9']],
    ['zone hints: only the endpoints hinted for this zone', {
      '10.244.1.5': { forZones: ['zone-1'] }, '10.244.2.9': { forZones: ['zone-2'] },
    }, ['10.244.1.5']],
    ['zone hints, none for this zone: all endpoints (never blackhole a zone)', {
      '10.244.1.5': { forZones: ['zone-2'] }, '10.244.2.9': { forZones: ['zone-2'] },
    }, ['10.244.1.5', '10.244.2.9']],
    ['node hints win over zone hints', {
      '10.244.1.5': { forNodes: ['node-a'], forZones: ['zone-1'] },
      '10.244.1.6': { forNodes: ['node-c'], forZones: ['zone-1'] },
      '10.244.2.9': { forNodes: ['node-b'], forZones: ['zone-1'] },
    }, ['10.244.1.5']],
    ['node hints, none for this node: the zone hints decide', {
      '10.244.1.6': { forNodes: ['node-c'], forZones: ['zone-1'] },
      '10.244.2.9': { forNodes: ['node-b'], forZones: ['zone-2'] },
    }, ['10.244.1.6']],
    ['node hints, none for this node or zone: all endpoints', {
      '10.244.1.6': { forNodes: ['node-c'], forZones: ['zone-3'] },
      '10.244.2.9': { forNodes: ['node-b'], forZones: ['zone-2'] },
    }, ['10.244.1.6', '10.244.2.9']],
    ['an endpoint hinted for this node but not forCluster is never used', {
      '10.244.1.5': { forNodes: ['node-a'], forCluster: false },
      '10.244.2.9': { forNodes: ['node-b'] },
    }, ['10.244.2.9']],
  ])('%s', (_name, endpoints, expected) => {
    expect(kept(endpoints)).toEqual(expected);
  });

  it('a node without a zone still honours node hints, and ignores zone hints', () => {
    const endpoints: Record<string, Hints> = {
      '10.244.1.5': { forNodes: ['node-a'], forZones: ['zone-1'] }, '10.244.2.9': { forNodes: ['node-b'], forZones: ['zone-1'] },
    };
    expect(kept(endpoints, { nodeName: THIS_NODE })).toEqual(['10.244.1.5']);
    expect(kept(endpoints, { nodeName: 'node-c' })).toEqual(['10.244.1.5', '10.244.2.9']);
  });
});
