/**
 * Whether a policy's exposures are enforced: each node that carries one has a NodeNatPlan
 * whose spec holds the exposure and whose agent reports Ready at that generation. This
 * grounds the Programmed condition in what agents say they enforce, not in what the
 * operator wrote.
 */
import type { NatExposurePolicyPublicEndpoint, NodeNatPlan } from '@natplan/api';

export interface ProgrammedCondition {
  type: 'Programmed';
  status: 'True' | 'False';
  reason: string;
  message: string;
}

export function programmedCondition(
  policy: { namespace: string; name: string },
  publicEndpoints: readonly NatExposurePolicyPublicEndpoint[],
  nodePlan: (node: string) => NodeNatPlan | undefined,
): ProgrammedCondition {
  if (publicEndpoints.length === 0) {
    return { type: 'Programmed', status: 'False', reason: 'NoPublicEndpoints', message: 'no node exposes this policy' };
  }
  const waiting = new Set<string>();
  for (const pe of publicEndpoints) {
    const plan = nodePlan(pe.node);
    // Matched by policy, Service and port, not address: behind NAT the public address
    // reported differs from the node address programmed.
    const inSpec = plan?.spec.exposures?.some((e) => e.policy.namespace === policy.namespace && e.policy.name === policy.name
      && e.service === pe.service && e.port === pe.port && e.protocol === pe.protocol) ?? false;
    const ready = plan?.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false;
    const current = plan?.status?.observedGeneration !== undefined && plan.status.observedGeneration === plan.metadata?.generation;
    if (!inSpec || !ready || !current) waiting.add(pe.node);
  }
  if (waiting.size > 0) {
    const nodes = [...waiting].sort();
    return { type: 'Programmed', status: 'False', reason: 'AwaitingAgents', message: `waiting for the agents of ${nodes.slice(0, 5).join(', ')}${nodes.length > 5 ? ` and ${nodes.length - 5} more` : ''} to enforce the exposures` };
  }
  const withEndpoints = publicEndpoints.filter((pe) => (pe.readyEndpoints ?? 0) > 0).length;
  if (withEndpoints === 0) {
    return { type: 'Programmed', status: 'False', reason: 'NoReadyEndpoints', message: 'exposures are enforced but no ready endpoint serves them' };
  }
  return { type: 'Programmed', status: 'True', reason: 'Programmed', message: `${publicEndpoints.length} public endpoints enforced, ${withEndpoints} with ready endpoints` };
}
