import { describe, expect, it } from 'vitest';
import type { NatExposurePolicyPublicEndpoint, NodeNatPlan } from '@natplan/api';
import { programmedCondition } from './programmed.js';

// Addresses: nodes 172.18.0.0/16, the NAT gateway's public address 198.51.100.1.
const policy = { namespace: 'shop', name: 'public-web' };
const pe = (over: Partial<NatExposurePolicyPublicEndpoint> = {}): NatExposurePolicyPublicEndpoint => ({ node: 'node-b', service: 'web', address: '198.51.100.1', port: 8080, protocol: 'TCP', readyEndpoints: 2, ...over });
const plan = (over: { generation?: number; observed?: number; ready?: boolean; exposed?: boolean } = {}): NodeNatPlan => ({
  apiVersion: 'natplan.io/v1alpha1', kind: 'NodeNatPlan', metadata: { name: 'node-b', generation: over.generation ?? 3 },
  spec: {
    nodeName: 'node-b',
    ...(over.exposed === false ? {} : { exposures: [{ policy, service: 'web', servicePort: 80, address: '172.18.0.3', port: 8080, protocol: 'TCP', sourceNAT: 'Masquerade' }] }),
  },
  status: {
    observedGeneration: over.observed ?? 3,
    conditions: [{ type: 'Ready', status: over.ready === false ? 'False' : 'True', reason: 'R', message: '', lastTransitionTime: '2026-11-22T00:00:00Z' }],
  },
});

describe('Programmed, from what the agents report', () => {
  it.each([
    ['enforced behind NAT (public address differs from the programmed one)', [pe()], plan(), 'True', 'Programmed'],
    ['no public endpoint', [], plan(), 'False', 'NoPublicEndpoints'],
    ['the agent enforces an older generation', [pe()], plan({ observed: 2 }), 'False', 'AwaitingAgents'],
    ['the agent is not Ready', [pe()], plan({ ready: false }), 'False', 'AwaitingAgents'],
    ['the node plan does not carry the exposure yet', [pe()], plan({ exposed: false }), 'False', 'AwaitingAgents'],
    ['enforced, but no ready endpoint behind it', [pe({ readyEndpoints: 0 })], plan(), 'False', 'NoReadyEndpoints'],
  ] as const)('%s', (_name, endpoints, nodePlan, status, reason) => {
    expect(programmedCondition(policy, endpoints, () => nodePlan)).toMatchObject({ type: 'Programmed', status, reason });
  });

  it('names the nodes it waits for', () => {
    expect(programmedCondition(policy, [pe()], () => undefined).message).toContain('node-b');
  });
});
