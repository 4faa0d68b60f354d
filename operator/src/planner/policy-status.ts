// The status the operator reports on a NatExposurePolicy: conditions and where the
// exposed Services are reachable. Conditions are drafts without lastTransitionTime; the
// shell owns the clock, keeps the old time when a status did not change, and sets
// observedGeneration from `observedGeneration` here.
import type {
  NatExposurePolicy,
  NatExposurePolicyPublicEndpoint,
  ServiceNatPlanEndpoint,
} from '@natplan/api';
import { compareText } from './endpoints.js';
import type { ExposureClaim, PolicyClaims } from './exposure-claims.js';

/** The schema's maxItems for status.publicEndpoints; publicEndpointCount has the full number. */
export const MAX_PUBLIC_ENDPOINTS = 4096;
/** Problems listed in one condition message; the rest are counted, so messages stay readable. */
const MAX_LISTED = 5;

export interface ConditionDraft {
  readonly type: 'Accepted' | 'Programmed' | 'Conflict' | 'GatewayMapped' | 'Ready';
  readonly status: 'True' | 'False' | 'Unknown';
  readonly reason: string;
  readonly message: string;
}

export interface PolicyStatusDraft {
  readonly policy: { readonly namespace: string; readonly name: string };
  /** metadata.generation the status was computed from. */
  readonly observedGeneration: number | undefined;
  /** Accepted, Programmed, Conflict — always all three, in that order. */
  readonly conditions: readonly ConditionDraft[];
  /** Sorted by node, service, address, port, protocol; readyEndpoints set when endpoints were given. */
  readonly publicEndpoints: readonly NatExposurePolicyPublicEndpoint[];
  readonly publicEndpointCount: number;
  /**
   * The policy asks the gateway in front of each node (fromNode Gateway): its public
   * endpoints carry the node's address until the shell puts in what the agents report
   * the gateway granted (operator/src/shell/gateway-status.ts).
   */
  readonly gatewayMapped: boolean;
}

/**
 * A claim lost to someone else (`conflict`), to a Service's cluster IP, which is never
 * claimable (`clusterIP`), or to the node plan's size limit (`limit`).
 */
export interface LostClaim {
  readonly claim: ExposureClaim;
  readonly heldBy: string;
  readonly why: 'conflict' | 'clusterIP' | 'limit';
}

/** The Conflict reason: the gravest kind of loss names it. */
function conflictReason(lost: readonly LostClaim[]): string {
  if (lost.some((l) => l.why === 'clusterIP')) return 'ClusterIPInUse';
  return lost.some((l) => l.why === 'conflict') ? 'AddressPortInUse' : 'NodePlanFull';
}

function lostMessage({ claim: { node, exposure: e }, heldBy, why }: LostClaim): string {
  // A cluster IP is taken on every node alike: one line per address, not per node.
  if (why === 'clusterIP') return `${e.address}:${e.port}/${e.protocol}: ${e.address} is the cluster IP of Service ${heldBy}; cluster IPs are never claimable`;
  return `${e.address}:${e.port}/${e.protocol} on node ${node} is held by ${heldBy}`;
}

/** Planned endpoints of a Service (all parts), by namespace and name; undefined when unknown. */
export type EndpointsOf = (namespace: string, service: string) => readonly ServiceNatPlanEndpoint[] | undefined;

function listed(items: readonly string[]): string {
  const shown = items.slice(0, MAX_LISTED).join('; ');
  return items.length > MAX_LISTED ? `${shown}; and ${items.length - MAX_LISTED} more` : shown;
}

function comparePublic(a: NatExposurePolicyPublicEndpoint, b: NatExposurePolicyPublicEndpoint): number {
  return compareText(a.node, b.node) || compareText(a.service, b.service) || compareText(a.address, b.address) || a.port - b.port || compareText(a.protocol, b.protocol);
}

/**
 * Usable endpoints behind one public endpoint: with Masquerade, those carrying cluster
 * traffic; with PreserveClientAddress, those carrying local traffic on that node (the only
 * ones such an exposure can reach).
 */
function readyBehind(pe: NatExposurePolicyPublicEndpoint, sourceNAT: string, endpoints: readonly ServiceNatPlanEndpoint[]): number {
  let count = 0;
  for (const e of endpoints) {
    if (sourceNAT === 'PreserveClientAddress' ? e.forLocal && e.nodeName === pe.node : e.forCluster) count++;
  }
  return count;
}

function programmed(accepted: boolean, publicEndpoints: readonly NatExposurePolicyPublicEndpoint[], endpointsKnown: boolean): ConditionDraft {
  const condition = (status: ConditionDraft['status'], reason: string, message: string): ConditionDraft => ({ type: 'Programmed', status, reason, message });
  if (!accepted) return condition('False', 'NotAccepted', 'the policy is not accepted');
  if (publicEndpoints.length === 0) return condition('False', 'NoExposureAssigned', 'no address:port was assigned to any node');
  if (!endpointsKnown) return condition('Unknown', 'EndpointsUnknown', 'the endpoints of the Services are not known yet');
  const withEndpoints = publicEndpoints.filter((pe) => (pe.readyEndpoints ?? 0) > 0).length;
  // "Programmed" here means planned for the nodes with somewhere to send traffic; what
  // each agent actually enforces is reported in its NodeNatPlan status.
  return withEndpoints > 0
    ? condition('True', 'Programmed', `${withEndpoints} of ${publicEndpoints.length} public endpoints have ready endpoints behind them`)
    : condition('False', 'NoReadyEndpoints', 'no public endpoint has a ready endpoint behind it');
}

type ConditionInput = Pick<ConditionDraft, 'status' | 'reason' | 'message'> & { readonly type: string };

/**
 * The summary condition tools read (kstatus, so Flux's health checks, and Argo CD health
 * scripts): True only when the policy is Accepted, Programmed, in no Conflict and (when it
 * asks a gateway) GatewayMapped; else the first problem, in that order, with its reason. Programmed Unknown (endpoints not known
 * yet) makes Ready Unknown: nothing is wrong yet. Computed from the final conditions, so
 * the shell calls it after it grounded Programmed in what the agents report.
 */
export function readyCondition(conditions: readonly ConditionInput[]): ConditionDraft {
  const find = (type: string) => conditions.find((c) => c.type === type);
  const [accepted, programmed, conflict, gateway] = [find('Accepted'), find('Programmed'), find('Conflict'), find('GatewayMapped')];
  const ready = (status: ConditionDraft['status'], reason: string, message: string): ConditionDraft => ({ type: 'Ready', status, reason, message });
  if (accepted?.status !== 'True') return ready(accepted ? 'False' : 'Unknown', accepted?.reason ?? 'Pending', `not accepted${accepted?.message ? `: ${accepted.message}` : ''}`);
  if (conflict?.status === 'True') return ready('False', conflict.reason, `in conflict: ${conflict.message}`);
  if (!programmed || programmed.status === 'Unknown') return ready('Unknown', programmed?.reason ?? 'Pending', `not programmed yet${programmed?.message ? `: ${programmed.message}` : ''}`);
  if (programmed.status === 'False') return ready('False', programmed.reason, `not programmed: ${programmed.message}`);
  // A gateway that refused (or has not answered) leaves the Service unreachable from outside.
  if (gateway && gateway.status !== 'True') return ready(gateway.status === 'False' ? 'False' : 'Unknown', gateway.reason, `gateway mapping: ${gateway.message}`);
  return ready('True', 'Ready', programmed.message);
}

/** Builds a policy's status from its expanded claims and what it won and lost. */
export function policyStatus(
  policy: NatExposurePolicy,
  expanded: PolicyClaims,
  won: readonly ExposureClaim[],
  lost: readonly LostClaim[],
  endpointsOf: EndpointsOf | undefined,
): PolicyStatusDraft {
  const ref = { namespace: policy.metadata?.namespace ?? '', name: policy.metadata?.name ?? '' };
  const sourceNAT = policy.spec.sourceNAT ?? 'Masquerade';
  const accepted: ConditionDraft = expanded.rejected
    ? { type: 'Accepted', status: 'False', reason: expanded.rejected.reason, message: listed([expanded.rejected.message, ...expanded.notes]) }
    : { type: 'Accepted', status: 'True', reason: 'Accepted', message: listed([`${won.length} of ${expanded.claims.length} exposures assigned to nodes`, ...expanded.notes]) };
  const conflict: ConditionDraft = lost.length > 0
    ? {
        type: 'Conflict',
        status: 'True',
        reason: conflictReason(lost),
        message: listed([...new Set(lost.map(lostMessage))]),
      }
    : { type: 'Conflict', status: 'False', reason: 'NoConflict', message: '' };

  const endpointsByService = new Map<string, readonly ServiceNatPlanEndpoint[] | undefined>();
  let endpointsKnown = endpointsOf !== undefined;
  const all = won
    .map(({ node, exposure: e, publicAddress }) => {
      const pe: NatExposurePolicyPublicEndpoint = { node, service: e.service, address: publicAddress ?? e.address, port: e.port, protocol: e.protocol };
      if (!endpointsOf) return pe;
      if (!endpointsByService.has(e.service)) endpointsByService.set(e.service, endpointsOf(ref.namespace, e.service));
      const endpoints = endpointsByService.get(e.service);
      if (!endpoints) {
        endpointsKnown = false;
        return pe;
      }
      return { ...pe, readyEndpoints: readyBehind(pe, sourceNAT, endpoints) };
    })
    .sort(comparePublic);
  return {
    policy: ref,
    observedGeneration: policy.metadata?.generation,
    conditions: [accepted, programmed(!expanded.rejected, all, endpointsKnown), conflict],
    publicEndpoints: all.slice(0, MAX_PUBLIC_ENDPOINTS),
    publicEndpointCount: all.length,
    gatewayMapped: policy.spec.addresses.fromNode === 'Gateway',
  };
}
