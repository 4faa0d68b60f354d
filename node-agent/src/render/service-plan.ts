/**
 * The Service half of the resolved plan: one Service's parts (ServiceNatPlans of the same
 * Service, merged) resolved into its ports for THIS node: addresses validated and
 * canonicalised, endpoints split into the lists each kind of traffic may use. Pure; depends
 * on the Service's parts and the node identity only.
 */
import { nftFamily } from './model.js';
import type { ServiceNatPlanEndpoint, ServiceNatPlanSpec } from '@natplan/api';
import { canonicalAddr, familyBits, familyOfValid, IP_FAMILIES, type IPFamily } from '@natplan/netaddr';
import { fnv1a64Hex } from '@natplan/controller-kit/hash';
import { PROTOCOLS, byText, cidrsByFamily, disjointCidrs, isPort } from './node-context.js';
import type { Backend, NodeIdentity, ServiceEntries, ServicePortNat } from './resolved-plan.js';

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;

function safeLabel(namespace: string, name: string, portName: string, port: number): string | undefined {
  const parts = [namespace, name, ...(portName ? [portName] : [])];
  return parts.every((p) => DNS_LABEL.test(p)) ? `${namespace}/${name}:${portName || port}` : undefined;
}

/**
 * The sources allowed to reach a firewalled load-balancer IP: the Service's ranges plus its
 * own load-balancer IPs, as host prefixes. A connection whose source IS the LB IP comes
 * from the holder of that address, never from a client the ranges filter: the node itself
 * when the VIP is a local address (the kernel picks it as the source), or the load balancer
 * SNATing a hairpin to its own address. kube-proxy's proxier allows it only when a range
 * covers the node IP; an agent with `all-local` node ports does not know its node IP, so
 * natplan always allows it (README, "Differences from kube-proxy").
 *
 * Why here and not in the planner: the ServiceNatPlan states each fact once (the user's
 * ranges verbatim, the ingress IPs in loadBalancerIPs), and this function is where both
 * renderers get their allowed sources, so the rule has one place and one source of truth;
 * a planner copy of the LB IPs into the ranges would store them twice and make the plan's
 * ranges differ from the Service's.
 */
function withOwnAddresses(ranges: string[], lbIPs: string[]): string[] {
  return disjointCidrs([...ranges, ...lbIPs.map((ip) => `${ip}/${familyBits(familyOfValid(ip))}`)]);
}

function uniqueBackends(backends: Backend[]): Backend[] {
  const seen = new Map<string, Backend>();
  for (const b of backends) seen.set(`${b.address}|${b.port}`, b);
  return [...seen.values()].sort((a, b) => byText(a.address, b.address) || a.port - b.port);
}

/** One Service's resolution: its ports, and what was wrong with its parts. */
export interface ServicePlan {
  /** False when no part 0 (with the frontends) exists: nothing of it is programmed. */
  present: boolean;
  ports: ServicePortNat[];
  problems: string[];
}

/**
 * Resolves the parts of one Service (all entries share namespace and Service name), in
 * any order: they are merged in part order, then by object name.
 */
export function planService(entries: ServiceEntries, identity: NodeIdentity): ServicePlan {
  const problems: string[] = [];
  const parts = entries.length > 1 ? [...entries].sort((a, b) => a.spec.part - b.spec.part || byText(a.name, b.name)) : entries;
  const first = parts[0];
  if (!first) return { present: false, ports: [], problems };
  const where = (): string => `Service ${JSON.stringify(first.namespace)}/${JSON.stringify(first.spec.service.name)}`;
  if (first.spec.part !== 0) return { present: false, ports: [], problems: [`${where()}: no part 0 with its frontends; skipped`] };
  if (parts[1]?.spec.part === 0) problems.push(`${where()}: more than one part 0; using ${JSON.stringify(first.name)}`);
  const svc = { namespace: first.namespace, name: first.spec.service.name, spec: first.spec, parts: parts.map((p) => p.spec) };
  const ports = planServicePorts(svc, identity, problems);
  return { present: true, ports, problems };
}

function planServicePorts(svc: { namespace: string; name: string; spec: ServiceNatPlanSpec; parts: readonly ServiceNatPlanSpec[] }, identity: NodeIdentity, problems: string[]): ServicePortNat[] {
  const { spec } = svc;
  const where = `Service ${JSON.stringify(svc.namespace)}/${JSON.stringify(svc.name)}`;
  const addressesByFamily = (texts: readonly string[] | undefined, what: string): Record<IPFamily, string[]> => {
    const out: Record<IPFamily, string[]> = { IPv4: [], IPv6: [] };
    for (const text of texts ?? []) {
      const address = canonicalAddr(text);
      if (address === undefined) { problems.push(`${where}: invalid ${what} ${JSON.stringify(text)} ignored`); continue; }
      const family = familyOfValid(address);
      if (!out[family].includes(address)) out[family].push(address);
    }
    return out;
  };
  const clusterIPs = addressesByFamily(spec.clusterIPs, 'cluster IP');
  const externalIPs = addressesByFamily(spec.externalIPs, 'external IP');
  const lbIPs = addressesByFamily(spec.loadBalancerIPs, 'load-balancer IP');
  const sourceRanges = cidrsByFamily(spec.loadBalancerSourceRanges, `${where} loadBalancerSourceRanges`, problems);
  const hasSourceRanges = (spec.loadBalancerSourceRanges ?? []).length > 0;
  const affinity = spec.sessionAffinity?.type === 'ClientIP' ? spec.sessionAffinity.timeoutSeconds : undefined;
  if (affinity !== undefined && !(Number.isInteger(affinity) && affinity >= 1 && affinity <= 86400)) {
    problems.push(`${where}: invalid affinity timeout; affinity ignored`);
  }
  const affinityTimeout = affinity !== undefined && Number.isInteger(affinity) && affinity >= 1 && affinity <= 86400 ? affinity : undefined;
  const merged: ServiceNatPlanEndpoint[] = svc.parts.flatMap((part) => part.endpoints ?? []);
  const endpoints = merged.flatMap((ep) => {
    const address = canonicalAddr(ep.address);
    if (address === undefined) { problems.push(`${where}: invalid endpoint address ${JSON.stringify(ep.address)} ignored`); return []; }
    return [{ ep, address, family: familyOfValid(address) }];
  });

  // A Service is programmed in the families it has frontends or declared ipFamilies in; a
  // node port of an IPv4-only Service must not open on the node's IPv6 addresses.
  const serviceFamilies = new Set<IPFamily>();
  for (const f of IP_FAMILIES) {
    if (clusterIPs[f].length || externalIPs[f].length || lbIPs[f].length) serviceFamilies.add(f);
  }
  for (const f of spec.ipFamilies ?? []) if (f === 'IPv4' || f === 'IPv6') serviceFamilies.add(f);
  if (!serviceFamilies.size) for (const e of endpoints) serviceFamilies.add(e.family);

  const result: ServicePortNat[] = [];
  const seenPorts = new Set<string>();
  for (const port of spec.ports ?? []) {
    const protocol = PROTOCOLS[port.protocol];
    if (!protocol || !isPort(port.port) || (port.nodePort !== undefined && !isPort(port.nodePort))) {
      problems.push(`${where}: invalid port ${JSON.stringify(port.port)}/${JSON.stringify(port.protocol)} skipped`);
      continue;
    }
    if (seenPorts.has(`${protocol}/${port.port}`)) { problems.push(`${where}: duplicate port ${port.port}/${protocol} skipped`); continue; }
    seenPorts.add(`${protocol}/${port.port}`);
    for (const family of IP_FAMILIES) {
      const familyEndpoints = endpoints.flatMap(({ ep, address, family: f }) => {
        if (f !== family) return [];
        const target = ep.ports.find((p) => p.name === port.name)?.port;
        return isPort(target) ? [{ ep, backend: { address, port: target } }] : [];
      });
      const forCluster = familyEndpoints.filter((e) => e.ep.forCluster);
      // Topology: the operator put the hints that passed its safeguards in forNodes and
      // forZones. Prefer endpoints hinted for this node, then for this zone; when none is,
      // use them all (kube-proxy's fallback: never blackhole a node nobody hinted for).
      const onNode = forCluster.filter((e) => e.ep.forNodes?.includes(identity.nodeName));
      const inZone = onNode.length || !identity.zone ? [] : forCluster.filter((e) => e.ep.forZones?.includes(identity.zone as string));
      const preferred = onNode.length ? onNode : inZone.length ? inZone : forCluster;
      const clusterEndpoints = uniqueBackends(preferred.map((e) => e.backend));
      const localEndpoints = uniqueBackends(familyEndpoints.filter((e) => e.ep.forLocal && e.ep.nodeName === identity.nodeName).map((e) => e.backend));
      if (!serviceFamilies.has(family)) continue;
      const clusterIP = clusterIPs[family][0];
      result.push({
        id: fnv1a64Hex(JSON.stringify([nftFamily(family), svc.namespace, svc.name, protocol, port.port])),
        family, protocol, port: port.port,
        label: safeLabel(svc.namespace, svc.name, port.name, port.port),
        clusterIP,
        nodePort: port.nodePort,
        externalIPs: externalIPs[family],
        loadBalancerIPs: lbIPs[family],
        affinityTimeoutSeconds: affinityTimeout,
        loadBalancerSourceRanges: hasSourceRanges ? withOwnAddresses(sourceRanges[family], lbIPs[family]) : undefined,
        internalLocal: spec.internalTrafficPolicy === 'Local',
        externalLocal: spec.externalTrafficPolicy === 'Local',
        clusterEndpoints,
        localEndpoints,
        hasAnyEndpoints: familyEndpoints.some((e) => e.ep.forCluster || e.ep.forLocal),
        owner: { namespace: svc.namespace, name: svc.name },
      });
    }
  }
  return result;
}

