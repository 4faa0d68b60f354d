/**
 * Where a gateway-mapped policy is reachable, from what the agents report. The planner
 * knows only the node address it asked the gateway to forward to; each agent reports in
 * its own NodeNatPlan status what the gateway granted (external address and port) or why
 * it refused. This puts the granted address into the policy's public endpoints and names
 * the refusals in a GatewayMapped condition, so no annotation is needed. Pure.
 */
import type { NatExposurePolicyPublicEndpoint, NodeNatPlan, NodeNatPlanGatewayMapping } from '@natplan/api';

export interface GatewayMappedCondition {
  type: 'GatewayMapped';
  status: 'True' | 'False' | 'Unknown';
  reason: string;
  message: string;
}

/** Problems named in one message; the rest are counted. */
const MAX_LISTED = 5;

function reported(plan: NodeNatPlan | undefined, pe: NatExposurePolicyPublicEndpoint): NodeNatPlanGatewayMapping | undefined {
  // The agent may still report a mapping the spec no longer asks for (its status lags):
  // only an exposure the current spec holds with a gateway mapping counts.
  const asked = plan?.spec.exposures?.some((e) => e.gatewayMapping !== undefined && e.address === pe.address && e.port === pe.port && e.protocol === pe.protocol) ?? false;
  if (!asked) return undefined;
  return plan?.status?.gatewayMappings?.find((m) => m.address === pe.address && m.port === pe.port && m.protocol === pe.protocol);
}

function listed(items: readonly string[]): string {
  const shown = items.slice(0, MAX_LISTED).join('; ');
  return items.length > MAX_LISTED ? `${shown}; and ${items.length - MAX_LISTED} more` : shown;
}

/**
 * `planned`: the planner's public endpoints of a gateway-mapped policy (node addresses).
 * Returns those the gateway forwards, with its external address and port, and the
 * condition: False naming the first refusal's reason (NotAuthorized, PortTaken, NoGateway,
 * ...), Unknown while an agent has not heard back, True when every node is mapped.
 */
export function gatewayMappedStatus(
  planned: readonly NatExposurePolicyPublicEndpoint[],
  accepted: boolean,
  nodePlan: (node: string) => NodeNatPlan | undefined,
): { publicEndpoints: NatExposurePolicyPublicEndpoint[]; condition: GatewayMappedCondition } {
  const condition = (status: GatewayMappedCondition['status'], reason: string, message: string): GatewayMappedCondition => ({ type: 'GatewayMapped', status, reason, message });
  if (!accepted) return { publicEndpoints: [], condition: condition('False', 'NotRequested', 'no gateway is asked while the policy is not accepted') };
  if (planned.length === 0) return { publicEndpoints: [], condition: condition('False', 'NotRequested', 'no node was assigned an exposure, so no gateway is asked') };
  const publicEndpoints: NatExposurePolicyPublicEndpoint[] = [];
  const refused: { reason: string; text: string }[] = [];
  const waiting = new Set<string>();
  for (const pe of planned) {
    const m = reported(nodePlan(pe.node), pe);
    const what = `${pe.port}/${pe.protocol} on node ${pe.node}`;
    if (m?.state === 'Mapped' && m.externalAddress) {
      publicEndpoints.push({ ...pe, address: m.externalAddress, port: m.externalPort ?? pe.port });
    } else if (m?.state === 'Refused') {
      refused.push({ reason: m.reason ?? 'Refused', text: `${what}: ${m.reason ?? 'Refused'}${m.message ? ` (${m.message})` : ''}` });
    } else {
      waiting.add(pe.node);
    }
  }
  if (refused.length > 0) {
    const reasons = [...new Set(refused.map((r) => r.reason))];
    return { publicEndpoints, condition: condition('False', reasons[0]!, listed(refused.map((r) => r.text))) };
  }
  if (waiting.size > 0) {
    const nodes = [...waiting].sort();
    return { publicEndpoints, condition: condition('Unknown', 'AwaitingGateway', `waiting for the gateway's answer on ${listed(nodes)}`) };
  }
  const addresses = [...new Set(publicEndpoints.map((pe) => pe.address))].sort();
  return { publicEndpoints, condition: condition('True', 'Mapped', `${publicEndpoints.length} port mappings on the gateway, external address ${addresses.join(', ')}`) };
}
