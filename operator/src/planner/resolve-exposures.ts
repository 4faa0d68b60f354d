// resolveExposures: all NatExposurePolicies, NatExposureGrants, Services and Nodes in; the
// exposures of each node and the status of each policy out. Each policy goes through:
// 1. what is never claimable (claimable.ts): reserved ports, the node-port range, special
//    addresses and the Service CIDRs refuse the whole policy (Accepted=False); an explicit
//    IP that is a Service's cluster IP is a Conflict naming that Service;
// 2. its Services, ports, nodes and addresses (exposure-claims.ts);
// 3. the grants (grants.ts): every address and port must be granted to its namespace,
//    else the whole policy is refused (NotGranted) — a half-applied policy is harder to
//    notice than one that says Accepted=False;
// 4. conflicts — two claims on the same node/address/port/protocol — resolved
//    deterministically: what a Service or the API server holds always wins (a node port,
//    an external or load-balancer IP, the API server's address:port), then the oldest
//    policy (creationTimestamp, then namespace/name), then Service name. The loser keeps
//    its other claims and gets Conflict=True naming the winner.
import type { V1Namespace, V1Node, V1Service } from '@kubernetes/client-node';
import type { NatExposureGrant, NatExposurePolicy, NodeNatPlanExposure } from '@natplan/api';
import { apiServerHolders, clusterIPOwners, refusedAddresses, refusedPorts } from './claimable.js';
import type { AddressPort, ExposureConfig } from './config.js';
import { compareText } from './endpoints.js';
import { claimsOf, reject, type ExposureClaim, type PolicyClaims } from './exposure-claims.js';
import { indexGrants, ungrantedClaims, type GrantsOf } from './grants.js';
import { canonicalAddr, LEGACY, parsePrefix, type Prefix } from '@natplan/netaddr';
import { compareExposures, nodePortAddressesFor } from './plan-node.js';
import { policyStatus, type EndpointsOf, type LostClaim, type PolicyStatusDraft } from './policy-status.js';

/** The NodeNatPlan schema's maxItems for exposures. */
export const MAX_EXPOSURES_PER_NODE = 4096;
/**
 * Bytes of exposures per NodeNatPlan. No object may exceed 256 KiB (DESIGN.md §1), and
 * 4096 exposures that each repeat a long source-range list would: the count limit alone
 * is not enough.
 */
export const EXPOSURE_BYTES_PER_NODE = 200 * 1024;

/** A safe upper bound of an exposure's JSON size. */
export function estimateExposureBytes(e: NodeNatPlanExposure): number {
  let bytes = 200 + e.policy.namespace.length + e.policy.name.length + e.service.length + e.address.length;
  for (const range of e.sourceRanges ?? []) bytes += 3 + range.length;
  if (e.gatewayMapping) bytes += 40;
  return bytes;
}

export interface ExposureInput {
  readonly policies: readonly NatExposurePolicy[];
  /** Every NatExposureGrant: without one covering a policy's addresses and ports, it is refused. */
  readonly grants: readonly NatExposureGrant[];
  /** Namespaces, for the grants' namespace selectors; a namespace not listed has no labels. */
  readonly namespaces?: readonly V1Namespace[];
  /** Where the API server listens, as the `kubernetes` Service's endpoints say (config adds its own). */
  readonly apiServerEndpoints?: readonly AddressPort[];
  /** All Services: those the policies select, and every Service whose ports must not be taken. */
  readonly services: readonly V1Service[];
  readonly nodes: readonly V1Node[];
  /** Planned endpoints per Service, for readyEndpoints and Programmed; without it Programmed is Unknown. */
  readonly endpointsOf?: EndpointsOf;
}

export interface ExposureResolution {
  /** Exposures per node name, sorted by (address, port, protocol); nodes without any are absent. */
  readonly byNode: ReadonlyMap<string, readonly NodeNatPlanExposure[]>;
  /** Status per policy, keyed "namespace/name". */
  readonly policyStatus: ReadonlyMap<string, PolicyStatusDraft>;
  /** "namespace/name" of every Service an assigned exposure points at: pass exposed=true to planService. */
  readonly exposedServices: ReadonlySet<string>;
}

function millis(timestamp: unknown): number {
  if (timestamp instanceof Date) return timestamp.getTime();
  if (typeof timestamp === 'string') {
    const parsed = Date.parse(timestamp);
    if (!Number.isNaN(parsed)) return parsed;
  }
  return Infinity; // no timestamp yet: treat as the youngest
}

const keyOf = (p: { metadata?: { namespace?: string; name?: string } }): string => `${p.metadata?.namespace ?? ''}/${p.metadata?.name ?? ''}`;

/** Oldest first; ties by namespace/name so the order never depends on informer order. */
export function comparePolicyAge(a: NatExposurePolicy, b: NatExposurePolicy): number {
  const byAge = millis(a.metadata?.creationTimestamp) - millis(b.metadata?.creationTimestamp);
  if (byAge !== 0 && !Number.isNaN(byAge)) return byAge;
  return compareText(keyOf(a), keyOf(b));
}

/**
 * What Services already hold: node ports and health-check node ports ("protocol/port"),
 * and external and load-balancer IPs with their Service ports ("address|protocol/port"),
 * which every node captures.
 */
function serviceHolders(services: readonly V1Service[]): { nodePorts: Map<string, string>; frontends: Map<string, string> } {
  const nodePorts = new Map<string, string>();
  const frontends = new Map<string, string>();
  const claim = (map: Map<string, string>, key: string, who: string): void => {
    if (!map.has(key)) map.set(key, who);
  };
  for (const s of [...services].sort((a, b) => compareText(keyOf(a), keyOf(b)))) {
    const name = `Service ${keyOf(s)}`;
    const addresses = [...(s.spec?.externalIPs ?? []), ...(s.status?.loadBalancer?.ingress ?? []).map((i) => i.ip ?? '')]
      .map((text) => canonicalAddr(text, LEGACY))
      .filter((ip) => ip !== undefined);
    for (const p of s.spec?.ports ?? []) {
      const protocol = p.protocol ?? 'TCP';
      if (p.nodePort) claim(nodePorts, `${protocol}/${p.nodePort}`, `node port of ${name}`);
      for (const address of addresses) claim(frontends, `${address}|${protocol}/${p.port}`, `external or load-balancer IP of ${name}`);
    }
    if (s.spec?.healthCheckNodePort) claim(nodePorts, `TCP/${s.spec.healthCheckNodePort}`, `health-check node port of ${name}`);
  }
  return { nodePorts, frontends };
}

function groupByNamespace(services: readonly V1Service[]): Map<string, V1Service[]> {
  const out = new Map<string, V1Service[]>();
  for (const s of services) {
    const ns = s.metadata?.namespace ?? '';
    const list = out.get(ns);
    if (list) list.push(s);
    else out.set(ns, [s]);
  }
  return out;
}

interface Authority {
  readonly grantsOf: GrantsOf;
  readonly clusterIPs: ReadonlyMap<string, string>;
  readonly serviceCIDRs: readonly Prefix[];
}

/**
 * Steps 1 to 3 of the file comment: the policy's claims (`expanded`, or its refusal), those
 * that name a cluster IP (lost whatever else happens) and the rest, which step 4 decides.
 */
function authorisedClaims(policy: NatExposurePolicy, services: readonly V1Service[], nodes: readonly V1Node[], authority: Authority, config: ExposureConfig): { expanded: PolicyClaims; onClusterIPs: LostClaim[]; contested: ExposureClaim[] } {
  const none = { onClusterIPs: [], contested: [] };
  const ports = refusedPorts(policy, config);
  if (ports) return { ...none, expanded: reject(ports.reason, ports.message) };
  const addresses = refusedAddresses(policy, authority.serviceCIDRs, authority.clusterIPs);
  if (addresses) return { ...none, expanded: reject(addresses.reason, addresses.message) };
  const expanded = claimsOf(policy, services, nodes);
  if (expanded.rejected) return { ...none, expanded };
  const onClusterIPs: LostClaim[] = [];
  const claims: ExposureClaim[] = [];
  for (const claim of expanded.claims) {
    const owner = authority.clusterIPs.get(claim.exposure.address);
    if (owner !== undefined) onClusterIPs.push({ claim, heldBy: owner, why: 'clusterIP' });
    else claims.push(claim);
  }
  const clusterIPTexts = new Set((policy.spec.addresses.ips ?? []).filter((text) => authority.clusterIPs.has(canonicalAddr(text, LEGACY) ?? '')));
  const missing = ungrantedClaims(policy, authority.grantsOf(policy.metadata?.namespace ?? ''), clusterIPTexts);
  if (missing.length > 0) {
    const message = `no NatExposureGrant allows namespace ${policy.metadata?.namespace ?? ''} to claim ${missing.join(', ')}`;
    // Its own reason: the admin's answer is a grant with fromNode Gateway, and until then no agent asks the gateway.
    const reason = policy.spec.addresses.fromNode === 'Gateway' ? 'GatewayMappingNotGranted' : 'NotGranted';
    return { onClusterIPs, contested: [], expanded: reject(reason, message, expanded.notes) };
  }
  return { onClusterIPs, contested: claims, expanded };
}

/** Resolves every exposure in the cluster. Pure; O(claims) after sorting. */
export function resolveExposures(input: ExposureInput, config: ExposureConfig): ExposureResolution {
  const policies = [...input.policies].sort(comparePolicyAge);
  const holders = serviceHolders(input.services);
  const apiServer = apiServerHolders([...config.apiServerEndpoints, ...(input.apiServerEndpoints ?? [])]);
  const authority: Authority = {
    grantsOf: indexGrants(input.grants, input.namespaces ?? []),
    clusterIPs: clusterIPOwners(input.services),
    serviceCIDRs: config.serviceCIDRs.map((text) => parsePrefix(text, LEGACY)).filter((c) => c !== undefined),
  };
  const byNamespace = groupByNamespace(input.services);
  // Node ports are served on the node-port addresses in replace mode (our agent does it);
  // in complement mode kube-proxy serves them, possibly on every local address, so a
  // node port blocks its number on any address.
  const nodePortAddresses = new Map(input.nodes.map((n) => [n.metadata?.name ?? '', new Set(nodePortAddressesFor(n, config))] as const));
  const nodePortTaken = (node: string, address: string): boolean => config.mode === 'complement' || (nodePortAddresses.get(node)?.has(address) ?? false);

  const heldBy = new Map<string, string>(); // node|address|protocol/port -> "policy ns/name"
  const byNode = new Map<string, NodeNatPlanExposure[]>();
  const bytesByNode = new Map<string, number>();
  const exposedServices = new Set<string>();
  const statuses: PolicyStatusDraft[] = [];

  for (const policy of policies) {
    const namespace = policy.metadata?.namespace ?? '';
    const { expanded, onClusterIPs, contested } = authorisedClaims(policy, byNamespace.get(namespace) ?? [], input.nodes, authority, config);
    const won: ExposureClaim[] = [];
    const lost: LostClaim[] = [...onClusterIPs];
    for (const claim of contested) {
      const { node, exposure } = claim;
      const portKey = `${exposure.protocol}/${exposure.port}`;
      const holder = apiServer.get(`${exposure.address}|${exposure.port}`)
        ?? (nodePortTaken(node, exposure.address) ? holders.nodePorts.get(portKey) : undefined)
        ?? holders.frontends.get(`${exposure.address}|${portKey}`)
        ?? heldBy.get(`${node}|${exposure.address}|${portKey}`);
      const onNode = byNode.get(node) ?? [];
      const bytes = (bytesByNode.get(node) ?? 0) + estimateExposureBytes(exposure);
      if (holder !== undefined) {
        lost.push({ claim, heldBy: holder, why: 'conflict' });
      } else if (onNode.length >= MAX_EXPOSURES_PER_NODE || bytes > EXPOSURE_BYTES_PER_NODE) {
        lost.push({ claim, heldBy: `the size limit of a NodeNatPlan (${MAX_EXPOSURES_PER_NODE} exposures, ${EXPOSURE_BYTES_PER_NODE / 1024} KiB)`, why: 'limit' });
      } else {
        heldBy.set(`${node}|${exposure.address}|${portKey}`, `policy ${keyOf(policy)}`);
        onNode.push(exposure);
        byNode.set(node, onNode);
        bytesByNode.set(node, bytes);
        won.push(claim);
        exposedServices.add(`${namespace}/${exposure.service}`);
      }
    }
    statuses.push(policyStatus(policy, expanded, won, lost, input.endpointsOf));
  }
  for (const list of byNode.values()) list.sort(compareExposures);
  statuses.sort((a, b) => compareText(`${a.policy.namespace}/${a.policy.name}`, `${b.policy.namespace}/${b.policy.name}`));
  const policyStatusByKey = new Map(statuses.map((s) => [`${s.policy.namespace}/${s.policy.name}`, s] as const));
  return { byNode, policyStatus: policyStatusByKey, exposedServices };
}
