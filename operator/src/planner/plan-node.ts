// planNode: the node-specific half of the plan. It depends only on the Node, the
// operator's settings and the exposures assigned to the node — never on endpoints — so
// the NodeNatPlan is rewritten only when node facts change (DESIGN.md §1).
import type { V1Node } from '@kubernetes/client-node';
import type { NodeNatPlanExposure, NodeNatPlanLocalTraffic, NodeNatPlanSpec } from '@natplan/api';
import type { NodePlannerConfig } from './config.js';
import { compareText } from './endpoints.js';
import { anyPrefixContains, formatAddr, formatPrefix, LEGACY, parseAddr, parsePrefix } from '@natplan/netaddr';

export const ZONE_LABEL = 'topology.kubernetes.io/zone';
const MAX_NODE_PORT_ADDRESSES = 64;
const MAX_POD_CIDRS = 2;

/** Canonical addresses of the given types from node.status.addresses, in status order, deduplicated. */
export function nodeAddresses(node: V1Node, types: readonly string[]): string[] {
  const out: string[] = [];
  for (const address of node.status?.addresses ?? []) {
    if (!types.includes(address.type)) continue;
    const ip = parseAddr(address.address, LEGACY);
    if (!ip) continue;
    const text = formatAddr(ip);
    if (!out.includes(text)) out.push(text);
  }
  return out;
}

/**
 * The node's primary address of each family, as kube-proxy's `--nodeport-addresses primary`
 * finds it: the first InternalIP of the family in status order, else the first ExternalIP.
 */
export function primaryNodeAddresses(node: V1Node): string[] {
  const internal = nodeAddresses(node, ['InternalIP']);
  const external = nodeAddresses(node, ['ExternalIP']);
  const out: string[] = [];
  for (const v6 of [false, true]) {
    const first = internal.find((a) => a.includes(':') === v6) ?? external.find((a) => a.includes(':') === v6);
    if (first) out.push(first);
  }
  return out;
}

/**
 * The node's addresses that serve node ports, sorted: every InternalIP and ExternalIP in
 * node.status, narrowed to the configured CIDRs when there are any (kube-proxy's
 * --nodeport-addresses), or only the primary ones. Status addresses rather than every
 * local address, so a node port never appears on an interface the cluster does not know
 * about (e.g. a VPN).
 */
export function nodePortAddressesFor(node: V1Node, config: Pick<NodePlannerConfig, 'nodePortAddressCIDRs' | 'nodePortAddressesPrimary'>): string[] {
  if (config.nodePortAddressesPrimary) return primaryNodeAddresses(node).sort(compareText);
  const cidrs = config.nodePortAddressCIDRs;
  return nodeAddresses(node, ['InternalIP', 'ExternalIP'])
    .filter((text) => {
      if (cidrs.length === 0) return true;
      const ip = parseAddr(text, LEGACY);
      return ip !== undefined && anyPrefixContains(cidrs, ip);
    })
    .sort(compareText)
    .slice(0, MAX_NODE_PORT_ADDRESSES);
}

function podCIDRsOf(node: V1Node): string[] {
  const texts = node.spec?.podCIDRs && node.spec.podCIDRs.length > 0 ? node.spec.podCIDRs : node.spec?.podCIDR ? [node.spec.podCIDR] : [];
  const out: string[] = [];
  for (const text of texts) {
    const cidr = parsePrefix(text, LEGACY);
    if (cidr && !out.includes(formatPrefix(cidr))) out.push(formatPrefix(cidr));
  }
  return out.slice(0, MAX_POD_CIDRS);
}

/**
 * What the agent needs to recognise this node's pods' traffic: the cluster CIDRs, the
 * node's pod CIDRs (none yet: nothing is local until the node has them), or an interface.
 */
export function localTrafficFor(config: Pick<NodePlannerConfig, 'localTraffic' | 'clusterCIDRs'>, podCIDRs: readonly string[]): NodeNatPlanLocalTraffic {
  const { mode, interfaceName } = config.localTraffic;
  if (mode === 'BridgeInterface') return { mode, interfaceName: interfaceName ?? '' };
  if (mode === 'InterfaceNamePrefix') return { mode, interfaceNamePrefix: interfaceName ?? '' };
  const cidrs = mode === 'ClusterCIDR' ? config.clusterCIDRs : podCIDRs;
  return cidrs.length > 0 ? { mode, cidrs: [...cidrs] } : { mode };
}

/** Sort order of exposures: the schema's list-map key (address, port, protocol). */
export function compareExposures(a: NodeNatPlanExposure, b: NodeNatPlanExposure): number {
  return compareText(a.address, b.address) || a.port - b.port || compareText(a.protocol, b.protocol);
}

export interface NodePlanInput {
  readonly node: V1Node;
  /** resolveExposures(...).byNode.get(nodeName) ?? []. */
  readonly exposures?: readonly NodeNatPlanExposure[];
}

/** Plans one node; depends on no endpoint, so endpoint churn never rewrites a NodeNatPlan. */
export function planNode(input: NodePlanInput, config: NodePlannerConfig): NodeNatPlanSpec {
  const { node } = input;
  const exposures = input.exposures ?? [];
  const nodeName = node.metadata?.name ?? '';
  const spec: NodeNatPlanSpec = { nodeName };
  const zone = node.metadata?.labels?.[ZONE_LABEL];
  if (zone) spec.zone = zone;
  const nodePortAddresses = nodePortAddressesFor(node, config);
  if (nodePortAddresses.length > 0) spec.nodePortAddresses = nodePortAddresses;
  const podCIDRs = podCIDRsOf(node);
  if (podCIDRs.length > 0) spec.podCIDRs = podCIDRs;
  if (config.clusterCIDRs.length > 0) spec.clusterCIDRs = [...config.clusterCIDRs];
  spec.localTraffic = localTrafficFor(config, podCIDRs);
  if (config.serviceCIDRs.length > 0) spec.serviceCIDRs = [...config.serviceCIDRs];
  spec.masqueradeAll = config.masqueradeAll;
  spec.backend = config.backend;
  if (exposures.length > 0) spec.exposures = [...exposures].sort(compareExposures).map((e) => structuredClone(e));
  return spec;
}
