/**
 * Resolves the API objects into a backend-neutral NAT plan: Service parts merged,
 * addresses validated and canonicalised, endpoints split into the sets each kind of
 * traffic may use on THIS node. Both the nftables and the iptables renderer start from
 * here, so they cannot disagree on semantics — only on syntax.
 */
import type { NodeNatPlanSpec, ServiceNatPlanEndpoint, ServiceNatPlanSpec } from '../../../crds/generated/types.js';
import type { IpFamily, ParsedCidr } from './addresses.js';
import { cidrContains, parseAddress, parseCidr } from './addresses.js';
import { fnv1a64Hex } from './hash.js';
import { IPV4_BITS, IPV6_BITS, isSpecialAddress } from '../../../netaddr/ip.js';

export interface NodeIdentity { nodeName: string; zone?: string }

export interface RenderInput {
  node: NodeNatPlanSpec;
  services: { namespace: string; name: string; spec: ServiceNatPlanSpec }[];
  identity: NodeIdentity;
  options?: {
    masqueradeBit?: number;
    /**
     * The cluster's Service CIDRs. Traffic to an address in them that no Service holds is
     * dropped (kube-proxy's behaviour). Not in the API yet (NodeNatPlanSpec has no field);
     * without it, such traffic is left alone.
     */
    serviceCIDRs?: string[];
  };
}

export type L4Protocol = 'tcp' | 'udp' | 'sctp';
export interface Backend { address: string; port: number }

/** One Service port in one IP family, with everything decided. */
export interface ServicePortNat {
  /** 16 hex digits naming this Service port's objects; derived from, but not revealing, its names. */
  id: string;
  family: IpFamily;
  protocol: L4Protocol;
  port: number;
  /** `namespace/name:port` when every part is a plain DNS label, for comments; else undefined. */
  label: string | undefined;
  clusterIP: string | undefined;
  nodePort: number | undefined;
  externalIPs: string[];
  loadBalancerIPs: string[];
  affinityTimeoutSeconds: number | undefined;
  /**
   * undefined: no firewall. An array: only these sources may reach the LB IPs — the
   * Service's ranges of this family plus its own LB IPs (see withOwnAddresses).
   */
  loadBalancerSourceRanges: string[] | undefined;
  internalLocal: boolean;
  externalLocal: boolean;
  /** Endpoints for Cluster-policy traffic, topology filter applied. */
  clusterEndpoints: Backend[];
  /** This node's endpoints for Local-policy traffic. */
  localEndpoints: Backend[];
  /** Some endpoint anywhere may carry traffic: no usable endpoint then means DROP, not REJECT. */
  hasAnyEndpoints: boolean;
  /** The Service's namespace and name, for resolving exposures; never rendered. */
  owner: { namespace: string; name: string };
}

export interface ExposureNat {
  family: IpFamily;
  address: string;
  port: number;
  protocol: L4Protocol;
  target: ServicePortNat | undefined;
  preserveClientAddress: boolean;
  sourceRanges: string[] | undefined;
}

/**
 * How this family recognises traffic from the node's pods (NodeNatPlan localTraffic,
 * kube-proxy's local detectors): by source CIDR, by the interface it arrived on (a bridge,
 * or every interface whose name starts with a prefix), or not at all.
 */
export type LocalTraffic =
  | { kind: 'none' }
  | { kind: 'cidrs'; cidrs: string[] }
  | { kind: 'interface'; name: string; prefix: boolean };

/** The NodeNatPlan schema's pattern: rendered inside quotes, so no quote, wildcard or space. */
const INTERFACE_NAME = /^[A-Za-z0-9_.-]{1,15}$/;

export interface FamilyPlan {
  family: IpFamily;
  /**
   * Something of this family is to be enforced: a Service port, an exposure or a Service
   * CIDR (whose unallocated addresses are dropped). A single-stack node's other family has
   * none, and its table then hooks no packets.
   */
  active: boolean;
  services: ServicePortNat[];
  exposures: ExposureNat[];
  /** 'all-local' when the plan names no node-port addresses at all (kube-proxy's default). */
  nodePortAddresses: string[] | 'all-local';
  /** Decides the eTP Local short-circuit and which cluster-IP traffic is masqueraded. */
  localTraffic: LocalTraffic;
  serviceCIDRs: string[];
  /** Every cluster IP of this family: allocated addresses inside the Service CIDRs. */
  clusterIPs: string[];
}

export interface NatPlan {
  families: Record<IpFamily, FamilyPlan>;
  masqueradeAll: boolean;
  /** The single mark bit (as a mask) that asks postrouting to masquerade. */
  masqueradeMark: number;
  /** Inputs that were skipped, one sentence each; the rest of the plan is still rendered. */
  problems: string[];
  counts: { services: number; endpoints: number; exposures: number };
}

const PROTOCOLS: Record<string, L4Protocol> = { TCP: 'tcp', UDP: 'udp', SCTP: 'sctp' };
const DNS_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
const DEFAULT_MASQUERADE_BIT = 14; // 0x4000, the bit kube-proxy uses, so both agree in complement mode.

const isPort = (n: unknown): n is number => Number.isInteger(n) && (n as number) >= 1 && (n as number) <= 65535;
const byText = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

function safeLabel(namespace: string, name: string, portName: string, port: number): string | undefined {
  const parts = [namespace, name, ...(portName ? [portName] : [])];
  return parts.every((p) => DNS_LABEL.test(p)) ? `${namespace}/${name}:${portName || port}` : undefined;
}

function cidrsByFamily(texts: readonly string[] | undefined, what: string, problems: string[]): Record<IpFamily, string[]> {
  const out: Record<IpFamily, string[]> = { ip: [], ip6: [] };
  for (const text of texts ?? []) {
    const parsed: ParsedCidr | undefined = parseCidr(text);
    if (!parsed) { problems.push(`${what}: invalid CIDR ${JSON.stringify(text)} ignored`); continue; }
    if (!out[parsed.family].includes(parsed.cidr)) out[parsed.family].push(parsed.cidr);
  }
  return { ip: disjointCidrs(out.ip), ip6: disjointCidrs(out.ip6) };
}

/**
 * Drops CIDRs contained in another one of the list and sorts the rest. Two prefixes are
 * either nested or disjoint, so the result never overlaps — nft refuses overlapping
 * intervals in an interval set without auto-merge (and pipapo concatenations have none).
 */
export function disjointCidrs(cidrs: readonly string[]): string[] {
  const parsed = cidrs.map((c) => parseCidr(c)).filter((c): c is ParsedCidr => c !== undefined);
  const kept = parsed.filter((c, i) => !parsed.some((other, j) => j !== i && other.prefix <= c.prefix
    && cidrContains(other, c) && (other.prefix < c.prefix || j < i)));
  return [...new Set(kept.map((c) => c.cidr))].sort(byText);
}

/**
 * The detector of each family. Without `localTraffic` (a plan from an older operator) the
 * operator's default is applied to the plan's CIDRs: the cluster CIDRs, else the node's pod
 * CIDRs. A CIDR mode without CIDRs of a family detects nothing in that family, so no rule
 * tests an empty set.
 */
function resolveLocalTraffic(node: NodeNatPlanSpec, problems: string[]): Record<IpFamily, LocalTraffic> {
  const spec = node.localTraffic;
  const byCidrs = (texts: readonly string[] | undefined, what: string): Record<IpFamily, LocalTraffic> => {
    const cidrs = cidrsByFamily(texts, what, problems);
    const of = (f: IpFamily): LocalTraffic => (cidrs[f].length ? { kind: 'cidrs', cidrs: cidrs[f] } : { kind: 'none' });
    return { ip: of('ip'), ip6: of('ip6') };
  };
  if (!spec) return byCidrs((node.clusterCIDRs ?? []).length ? node.clusterCIDRs : node.podCIDRs, 'node clusterCIDRs/podCIDRs');
  if (spec.mode === 'ClusterCIDR' || spec.mode === 'NodeCIDR') return byCidrs(spec.cidrs, 'node localTraffic cidrs');
  const prefix = spec.mode === 'InterfaceNamePrefix';
  const name = (prefix ? spec.interfaceNamePrefix : spec.interfaceName) ?? '';
  if (!INTERFACE_NAME.test(name)) {
    problems.push(`node localTraffic: invalid interface ${JSON.stringify(name)}; no traffic is treated as local`);
    return { ip: { kind: 'none' }, ip6: { kind: 'none' } };
  }
  const lt: LocalTraffic = { kind: 'interface', name, prefix };
  return { ip: lt, ip6: lt };
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
  return disjointCidrs([...ranges, ...lbIPs.map((ip) => `${ip}/${ip.includes(':') ? 128 : 32}`)]);
}

function uniqueBackends(backends: Backend[]): Backend[] {
  const seen = new Map<string, Backend>();
  for (const b of backends) seen.set(`${b.address}|${b.port}`, b);
  return [...seen.values()].sort((a, b) => byText(a.address, b.address) || a.port - b.port);
}

interface MergedService {
  /** groupKey(namespace, name). */
  key: string;
  namespace: string; name: string; spec: ServiceNatPlanSpec;
  /** The part specs in merge order: what the Service's plan is computed from. */
  parts: readonly ServiceNatPlanSpec[];
  /** The input entries of `parts`, in the same order. */
  entries: RenderInput['services'];
}

/**
 * Distinct (namespace, name) pairs give distinct keys: `namespace NUL name`, or JSON (which
 * has no raw NUL) when the namespace holds a NUL. Keys of the first form sort like the
 * pairs do (NUL sorts before any other code unit).
 */
const groupKey = (namespace: string, name: string): string => (namespace.includes('\0') ? JSON.stringify([namespace, name]) : `${namespace}\0${name}`);

function mergeParts(services: RenderInput['services'], problems: string[]): MergedService[] {
  const groups = new Map<string, RenderInput['services']>();
  for (const s of services) {
    const key = groupKey(s.namespace, s.spec.service.name);
    const group = groups.get(key);
    if (group) group.push(s);
    else groups.set(key, [s]);
  }
  const merged: MergedService[] = [];
  for (const [key, parts] of groups) {
    if (parts.length > 1) parts.sort((a, b) => a.spec.part - b.spec.part || byText(a.name, b.name));
    const first = parts[0];
    if (!first) continue;
    const where = (): string => `Service ${JSON.stringify(first.namespace)}/${JSON.stringify(first.spec.service.name)}`;
    if (first.spec.part !== 0) { problems.push(`${where()}: no part 0 with its frontends; skipped`); continue; }
    if (parts[1]?.spec.part === 0) problems.push(`${where()}: more than one part 0; using ${JSON.stringify(first.name)}`);
    merged.push({ key, namespace: first.namespace, name: first.spec.service.name, spec: first.spec, parts: parts.length === 1 ? [first.spec] : parts.map((p) => p.spec), entries: parts });
  }
  if (merged.some((m) => m.namespace.includes('\0'))) return merged.sort((a, b) => byText(a.namespace, b.namespace) || byText(a.name, b.name));
  // The same order, sorted without a callback (several times faster at 10k Services).
  const byKey = new Map(merged.map((m) => [m.key, m]));
  return [...byKey.keys()].sort().map((key) => byKey.get(key) as MergedService);
}

function planServicePorts(svc: MergedService, identity: NodeIdentity, problems: string[]): ServicePortNat[] {
  const { spec } = svc;
  const where = `Service ${JSON.stringify(svc.namespace)}/${JSON.stringify(svc.name)}`;
  const addressesByFamily = (texts: readonly string[] | undefined, what: string): Record<IpFamily, string[]> => {
    const out: Record<IpFamily, string[]> = { ip: [], ip6: [] };
    for (const text of texts ?? []) {
      const parsed = parseAddress(text);
      if (!parsed) { problems.push(`${where}: invalid ${what} ${JSON.stringify(text)} ignored`); continue; }
      if (!out[parsed.family].includes(parsed.text)) out[parsed.family].push(parsed.text);
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
    const parsed = parseAddress(ep.address);
    if (!parsed) { problems.push(`${where}: invalid endpoint address ${JSON.stringify(ep.address)} ignored`); return []; }
    return [{ ep, address: parsed.text, family: parsed.family }];
  });

  // A Service is programmed in the families it has frontends or declared ipFamilies in; a
  // node port of an IPv4-only Service must not open on the node's IPv6 addresses.
  const serviceFamilies = new Set<IpFamily>();
  for (const f of ['ip', 'ip6'] as const) {
    if (clusterIPs[f].length || externalIPs[f].length || lbIPs[f].length) serviceFamilies.add(f);
  }
  for (const f of spec.ipFamilies ?? []) serviceFamilies.add(f === 'IPv6' ? 'ip6' : 'ip');
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
    for (const family of ['ip', 'ip6'] as const) {
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
        id: fnv1a64Hex(JSON.stringify([family, svc.namespace, svc.name, protocol, port.port])),
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

/**
 * What resolvePlan may reuse from one call to the next: each Service's ports and problems,
 * keyed by its part spec objects (the informer replaces a spec object when it changes, and
 * specs are never mutated in place). Everything else in the plan is recomputed; only
 * planServicePorts depends on the Service alone, and on the node identity, which keys the
 * whole memo.
 */
export interface PlanMemo {
  merge?: MergeMemo;
  identity: string;
  services: Map<string, { parts: readonly ServiceNatPlanSpec[]; ports: ServicePortNat[]; problems: string[] }>;
  /** `address|port` of the endpoints of the Services in `services` -> how many ports use it. */
  endpoints: Map<string, number>;
}

/** The previous grouping of the input entries into Services. */
interface MergeMemo {
  entries: { namespace: string; name: string; service: string; part: number; spec: ServiceNatPlanSpec }[];
  merged: MergedService[];
  problems: string[];
  /** Per input entry: its Service's index in `merged` and its position in `parts`; undefined when skipped. */
  where: ([number, number] | undefined)[];
}

/**
 * mergeParts, reusing the previous grouping when the input entries are the same ones in
 * the same order (same names and part numbers), only some with new spec objects: the
 * groups, their order and the problems cannot have changed, only those Services' parts.
 */
function memoMergeParts(services: RenderInput['services'], problems: string[], memo: PlanMemo): MergedService[] {
  const previous = memo.merge;
  if (previous && previous.entries.length === services.length) {
    let same = true;
    const changed: number[] = [];
    for (let i = 0; i < services.length && same; i++) {
      const s = services[i] as RenderInput['services'][number];
      const e = previous.entries[i] as MergeMemo['entries'][number];
      same = s.namespace === e.namespace && s.name === e.name && s.spec.service.name === e.service && s.spec.part === e.part;
      if (s.spec !== e.spec) changed.push(i);
    }
    if (same) {
      const merged = changed.length ? [...previous.merged] : previous.merged;
      const copied = new Set<number>();
      for (const i of changed) {
        const s = services[i] as RenderInput['services'][number];
        (previous.entries[i] as MergeMemo['entries'][number]).spec = s.spec;
        const where = previous.where[i];
        if (!where) continue;
        const [m, position] = where;
        let svc = merged[m] as MergedService;
        if (!copied.has(m)) {
          copied.add(m);
          svc = { ...svc, parts: [...svc.parts], entries: [...svc.entries] };
          merged[m] = svc;
        }
        (svc.parts as ServiceNatPlanSpec[])[position] = s.spec;
        svc.entries[position] = s;
        svc.spec = svc.parts[0] as ServiceNatPlanSpec;
      }
      previous.merged = merged;
      problems.push(...previous.problems);
      return merged;
    }
  }
  const own: string[] = [];
  const merged = mergeParts(services, own);
  problems.push(...own);
  const index = new Map(services.map((s, i) => [s, i]));
  memo.merge = undefined;
  if (index.size !== services.length) return merged; // an entry object listed twice: no memo
  const where: MergeMemo['where'] = services.map(() => undefined);
  merged.forEach((svc, m) => svc.entries.forEach((entry, position) => { where[index.get(entry) as number] = [m, position]; }));
  memo.merge = {
    entries: services.map((s) => ({ namespace: s.namespace, name: s.name, service: s.spec.service.name, part: s.spec.part, spec: s.spec })),
    merged, problems: own, where,
  };
  return merged;
}

export const newPlanMemo = (): PlanMemo => ({ identity: '', services: new Map(), endpoints: new Map() });

/** Every `address|port` a list of Service ports sends to (with repeats). */
function endpointKeysOf(ports: readonly ServicePortNat[]): string[] {
  return ports.flatMap((p) => [...p.clusterEndpoints, ...p.localEndpoints].map((b) => `${b.address}|${b.port}`));
}

function countEndpoints(memo: PlanMemo, ports: readonly ServicePortNat[], delta: 1 | -1): void {
  const count = (b: Backend): void => {
    const key = `${b.address}|${b.port}`;
    const n = (memo.endpoints.get(key) ?? 0) + delta;
    if (n) memo.endpoints.set(key, n);
    else memo.endpoints.delete(key);
  };
  for (const p of ports) {
    for (const b of p.clusterEndpoints) count(b);
    for (const b of p.localEndpoints) count(b);
  }
}

function samePartSpecs(a: readonly ServiceNatPlanSpec[], b: readonly ServiceNatPlanSpec[]): boolean {
  return a.length === b.length && a.every((spec, i) => spec === b[i]);
}

function memoPlanServicePorts(svc: MergedService, identity: NodeIdentity, problems: string[], memo: PlanMemo | undefined, seen: Map<string, unknown>): ServicePortNat[] {
  if (!memo) return planServicePorts(svc, identity, problems);
  const { key } = svc;
  seen.set(key, undefined);
  const cached = memo.services.get(key);
  if (cached && samePartSpecs(cached.parts, svc.parts)) {
    problems.push(...cached.problems);
    return cached.ports;
  }
  const own: string[] = [];
  const ports = planServicePorts(svc, identity, own);
  if (cached) countEndpoints(memo, cached.ports, -1);
  countEndpoints(memo, ports, 1);
  memo.services.set(key, { parts: svc.parts, ports, problems: own });
  problems.push(...own);
  return ports;
}

/**
 * Resolve the inputs into the backend-neutral plan. Pure; never throws on bad data. With a
 * memo, unchanged Services keep their ServicePortNat objects (same identity) from the
 * previous call; the result is the same as without one.
 */
export function resolvePlan(input: RenderInput, memo?: PlanMemo): NatPlan {
  const problems: string[] = [];
  const { node, identity } = input;
  const bit = input.options?.masqueradeBit ?? DEFAULT_MASQUERADE_BIT;
  const validBit = Number.isInteger(bit) && bit >= 0 && bit <= 31;
  if (!validBit) problems.push(`masqueradeBit ${bit} is not in 0..31; using ${DEFAULT_MASQUERADE_BIT}`);
  const masqueradeMark = 2 ** (validBit ? bit : DEFAULT_MASQUERADE_BIT);

  const merged = memo ? memoMergeParts(input.services, problems, memo) : mergeParts(input.services, problems);
  if (memo) {
    const identityKey = JSON.stringify([identity.nodeName, identity.zone ?? null]);
    if (memo.identity !== identityKey) { memo.identity = identityKey; memo.services.clear(); memo.endpoints.clear(); }
  }
  const seen = new Map<string, unknown>();
  const servicePorts = merged.flatMap((svc) => memoPlanServicePorts(svc, identity, problems, memo, seen));
  if (memo && memo.services.size > seen.size) {
    for (const [key, cached] of memo.services) {
      if (seen.has(key)) continue;
      countEndpoints(memo, cached.ports, -1);
      memo.services.delete(key);
    }
  }

  const nodePortAddresses: Record<IpFamily, string[]> = { ip: [], ip6: [] };
  for (const text of node.nodePortAddresses ?? []) {
    const parsed = parseAddress(text);
    if (!parsed) { problems.push(`node: invalid node-port address ${JSON.stringify(text)} ignored`); continue; }
    if (!nodePortAddresses[parsed.family].includes(parsed.text)) nodePortAddresses[parsed.family].push(parsed.text);
  }
  const allLocal = (node.nodePortAddresses ?? []).length === 0;
  const localTraffic = resolveLocalTraffic(node, problems);
  // The NodeNatPlan carries them; the option remains for callers without a plan field.
  const serviceCIDRs = cidrsByFamily(input.node.serviceCIDRs ?? input.options?.serviceCIDRs, 'serviceCIDRs', problems);

  const exposures: ExposureNat[] = [];
  for (const exposure of node.exposures ?? []) {
    const address = parseAddress(exposure.address);
    const protocol = PROTOCOLS[exposure.protocol];
    const where = `exposure ${JSON.stringify(exposure.address)}:${JSON.stringify(exposure.port)}`;
    if (!address || !protocol || !isPort(exposure.port) || !isPort(exposure.servicePort)) { problems.push(`${where}: invalid; skipped`); continue; }
    // The operator never plans these (loopback would capture the node's own local traffic);
    // a plan written by something else is not trusted to either.
    if (isSpecialAddress(address.value, address.family === 'ip' ? IPV4_BITS : IPV6_BITS)) { problems.push(`${where}: not a unicast address; skipped`); continue; }
    const ranges = (exposure.sourceRanges ?? []).length ? cidrsByFamily(exposure.sourceRanges, where, problems)[address.family] : undefined;
    const target = servicePorts.find((p) => p.family === address.family && p.protocol === protocol && p.port === exposure.servicePort
      && p.owner.namespace === exposure.policy.namespace && p.owner.name === exposure.service);
    exposures.push({
      family: address.family, address: address.text, port: exposure.port, protocol, target,
      preserveClientAddress: exposure.sourceNAT === 'PreserveClientAddress', sourceRanges: ranges,
    });
  }

  // With a memo the distinct endpoints are counted as Services change.
  const endpointCount = memo ? memo.endpoints.size : new Set(endpointKeysOf(servicePorts)).size;
  const clusterIPsOf = (f: IpFamily): string[] => {
    const ips = new Set<string>();
    for (const p of servicePorts) if (p.family === f && p.clusterIP) ips.add(p.clusterIP);
    // The default sort compares UTF-16 code units, as byText does, without a callback.
    return [...ips].sort();
  };
  const family = (f: IpFamily): FamilyPlan => {
    const services = servicePorts.filter((p) => p.family === f);
    const familyExposures = exposures.filter((x) => x.family === f);
    return {
      family: f,
      active: services.length > 0 || familyExposures.length > 0 || serviceCIDRs[f].length > 0,
      services,
      exposures: familyExposures,
      nodePortAddresses: allLocal ? 'all-local' : nodePortAddresses[f],
      localTraffic: localTraffic[f],
      serviceCIDRs: serviceCIDRs[f],
      clusterIPs: clusterIPsOf(f),
    };
  };

  return {
    families: { ip: family('ip'), ip6: family('ip6') },
    masqueradeAll: node.masqueradeAll === true,
    masqueradeMark,
    problems,
    counts: { services: merged.length, endpoints: endpointCount, exposures: exposures.filter((x) => x.target).length },
  };
}
