// Which endpoints carry which traffic: the operator applies kube-proxy's endpoint
// categorisation once, so agents only filter by their own node name or zone.
//
// - Cluster traffic uses ready endpoints; when none is ready anywhere it falls back to
//   endpoints that are serving while terminating (KEP-1669), so connections drain
//   instead of being rejected during a rollout.
// - Local traffic uses the ready endpoints on the receiving node, with the same fallback
//   decided per node: one node may be draining while another is healthy.
// - Topology hints are honoured only when the Service asks for them (trafficDistribution,
//   or the topology-mode annotation) and every ready endpoint carries a zone hint (the
//   safeguard of KEP-2433: a half-hinted Service would overload the hinted zones). The
//   agent then prefers endpoints hinted for its zone, and uses all cluster endpoints if
//   none is hinted for its zone (the other safeguard, which only the node can apply).
//   With no ready endpoint, the terminating fallback ignores hints, as kube-proxy does.
// - Node hints (PreferSameNode: the EndpointSlice controller sets forNodes and forZones)
//   pass the same safeguard on their own: every ready endpoint must carry one. The agent
//   prefers endpoints hinted for its node, then for its zone, then all of them, as
//   kube-proxy's topology modes do.
import type { V1Service } from '@kubernetes/client-node';
import type { CollectedEndpoint } from './endpoints.js';

/** KEP-2433's annotation; the older one is still honoured by the EndpointSlice controller. */
export const TOPOLOGY_MODE_ANNOTATION = 'service.kubernetes.io/topology-mode';
export const TOPOLOGY_AWARE_HINTS_ANNOTATION = 'service.kubernetes.io/topology-aware-hints';

/**
 * Whether the Service asked for topology-aware routing. Hints left on slices by another
 * controller, or from before the Service stopped asking, are not trusted.
 */
export function topologyRequested(service: V1Service): boolean {
  const distribution = service.spec?.trafficDistribution;
  // PreferSameNode slices carry node hints and zone hints: the zone ones are the fallback
  // for a node no endpoint is hinted for.
  if (distribution === 'PreferClose' || distribution === 'PreferSameZone' || distribution === 'PreferSameNode') return true;
  const annotations = service.metadata?.annotations ?? {};
  const mode = annotations[TOPOLOGY_MODE_ANNOTATION] ?? annotations[TOPOLOGY_AWARE_HINTS_ANNOTATION];
  return mode === 'Auto' || mode === 'auto';
}

/** Maximum zone or node hints per endpoint, as in the EndpointSlice and ServiceNatPlan schemas. */
const MAX_HINTS = 8;

export interface TrafficDecision {
  readonly forCluster: boolean;
  readonly forLocal: boolean;
  /** Present only when the Service's hints pass the safeguard and the endpoint is ready. */
  readonly forZones: readonly string[] | undefined;
  /** The same for node hints, with their own safeguard. */
  readonly forNodes: readonly string[] | undefined;
}

const servingTerminating = (e: CollectedEndpoint): boolean => e.serving && e.terminating;

/** Whether the Service's zone (or node) hints may be used at all: every ready endpoint has one. */
export function hintsUsable(endpoints: readonly CollectedEndpoint[], kind: 'zoneHints' | 'nodeHints' = 'zoneHints'): boolean {
  let anyReady = false;
  for (const e of endpoints) {
    if (!e.ready) continue;
    anyReady = true;
    if (e[kind].length === 0) return false;
  }
  return anyReady;
}

/** One decision per endpoint, in the same order. */
export function decideTraffic(endpoints: readonly CollectedEndpoint[], hintsRequested: boolean): TrafficDecision[] {
  const anyReady = endpoints.some((e) => e.ready);
  const nodesWithReady = new Set<string>();
  for (const e of endpoints) if (e.ready && e.nodeName) nodesWithReady.add(e.nodeName);
  const useHints = hintsRequested && hintsUsable(endpoints);
  const useNodeHints = hintsRequested && hintsUsable(endpoints, 'nodeHints');
  return endpoints.map((e) => {
    const forCluster = anyReady ? e.ready : servingTerminating(e);
    const forLocal = e.nodeName !== undefined && (nodesWithReady.has(e.nodeName) ? e.ready : servingTerminating(e));
    const forZones = useHints && e.ready ? e.zoneHints.slice(0, MAX_HINTS) : undefined;
    const forNodes = useNodeHints && e.ready ? e.nodeHints.slice(0, MAX_HINTS) : undefined;
    return { forCluster, forLocal, forZones, forNodes };
  });
}
