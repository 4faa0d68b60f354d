/**
 * The node half of the resolved plan: everything a Service's render reads from the
 * NodeNatPlan and the node's identity, resolved once per node-plan version. A change
 * here re-renders every Service (the element store starts over); a Service change never
 * needs it recomputed.
 */
import type { NodeNatPlanSpec } from '@natplan/api';
import { canonicalAddr, familyOfValid, formatAddr, formatPrefix, isSpecialAddr, parseAddr, parsePrefix, prefixCovers, type IPFamily, type Prefix } from '@natplan/netaddr';
import type { ExposureSpec, L4Protocol, LocalTraffic, NodeContext, RenderInput } from './resolved-plan.js';

export const PROTOCOLS: Record<string, L4Protocol> = { TCP: 'tcp', UDP: 'udp', SCTP: 'sctp' };
const DEFAULT_MASQUERADE_BIT = 14; // 0x4000, the bit kube-proxy uses, so both agree in complement mode.
/** The NodeNatPlan schema's pattern: rendered inside quotes, so no quote, wildcard or space. */
const INTERFACE_NAME = /^[A-Za-z0-9_.-]{1,15}$/;

export const isPort = (n: unknown): n is number => Number.isInteger(n) && (n as number) >= 1 && (n as number) <= 65535;
export const byText = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

/**
 * Distinct (namespace, name) pairs give distinct keys: `namespace NUL name`, or JSON (which
 * has no raw NUL) when the namespace holds a NUL. Keys of the first form sort like the
 * pairs do (NUL sorts before any other code unit).
 */
export const groupKey = (namespace: string, name: string): string => (namespace.includes('\0') ? JSON.stringify([namespace, name]) : `${namespace}\0${name}`);

export function cidrsByFamily(texts: readonly string[] | undefined, what: string, problems: string[]): Record<IPFamily, string[]> {
  const out: Record<IPFamily, string[]> = { IPv4: [], IPv6: [] };
  for (const text of texts ?? []) {
    const parsed = parsePrefix(text);
    if (!parsed) { problems.push(`${what}: invalid CIDR ${JSON.stringify(text)} ignored`); continue; }
    const canonical = formatPrefix(parsed);
    if (!out[parsed.family].includes(canonical)) out[parsed.family].push(canonical);
  }
  return { IPv4: disjointCidrs(out.IPv4), IPv6: disjointCidrs(out.IPv6) };
}

/**
 * Drops CIDRs contained in another one of the list and sorts the rest. Two prefixes are
 * either nested or disjoint, so the result never overlaps — nft refuses overlapping
 * intervals in an interval set without auto-merge (and pipapo concatenations have none).
 */
export function disjointCidrs(cidrs: readonly string[]): string[] {
  const parsed = cidrs.map((c) => parsePrefix(c)).filter((c): c is Prefix => c !== undefined);
  const kept = parsed.filter((c, i) => !parsed.some((other, j) => j !== i && prefixCovers(other, c) && (other.bits < c.bits || j < i)));
  return [...new Set(kept.map(formatPrefix))].sort(byText);
}

/**
 * The detector of each family. Without `localTraffic` (a plan from an older operator) the
 * operator's default is applied to the plan's CIDRs: the cluster CIDRs, else the node's pod
 * CIDRs. A CIDR mode without CIDRs of a family detects nothing in that family, so no rule
 * tests an empty set.
 */
function resolveLocalTraffic(node: NodeNatPlanSpec, problems: string[]): Record<IPFamily, LocalTraffic> {
  const spec = node.localTraffic;
  const byCidrs = (texts: readonly string[] | undefined, what: string): Record<IPFamily, LocalTraffic> => {
    const cidrs = cidrsByFamily(texts, what, problems);
    const of = (f: IPFamily): LocalTraffic => (cidrs[f].length ? { kind: 'cidrs', cidrs: cidrs[f] } : { kind: 'none' });
    return { IPv4: of('IPv4'), IPv6: of('IPv6') };
  };
  if (!spec) return byCidrs((node.clusterCIDRs ?? []).length ? node.clusterCIDRs : node.podCIDRs, 'node clusterCIDRs/podCIDRs');
  if (spec.mode === 'ClusterCIDR' || spec.mode === 'NodeCIDR') return byCidrs(spec.cidrs, 'node localTraffic cidrs');
  const prefix = spec.mode === 'InterfaceNamePrefix';
  const name = (prefix ? spec.interfaceNamePrefix : spec.interfaceName) ?? '';
  if (!INTERFACE_NAME.test(name)) {
    problems.push(`node localTraffic: invalid interface ${JSON.stringify(name)}; no traffic is treated as local`);
    return { IPv4: { kind: 'none' }, IPv6: { kind: 'none' } };
  }
  const lt: LocalTraffic = { kind: 'interface', name, prefix };
  return { IPv4: lt, IPv6: lt };
}

function resolveExposures(node: NodeNatPlanSpec, problems: string[]): ExposureSpec[] {
  const out: ExposureSpec[] = [];
  for (const exposure of node.exposures ?? []) {
    const address = parseAddr(exposure.address);
    const protocol = PROTOCOLS[exposure.protocol];
    const where = `exposure ${JSON.stringify(exposure.address)}:${JSON.stringify(exposure.port)}`;
    if (!address || !protocol || !isPort(exposure.port) || !isPort(exposure.servicePort)) { problems.push(`${where}: invalid; skipped`); continue; }
    // The operator never plans these (loopback would capture the node's own local traffic);
    // a plan written by something else is not trusted to either.
    if (isSpecialAddr(address)) { problems.push(`${where}: not a unicast address; skipped`); continue; }
    const ranges = (exposure.sourceRanges ?? []).length ? cidrsByFamily(exposure.sourceRanges, where, problems)[address.family] : undefined;
    out.push({
      index: out.length, family: address.family, address: formatAddr(address), port: exposure.port, protocol, servicePort: exposure.servicePort,
      service: groupKey(exposure.policy.namespace, exposure.service),
      preserveClientAddress: exposure.sourceNAT === 'PreserveClientAddress', sourceRanges: ranges,
    });
  }
  return out;
}

/** Resolves the node half of the input. Pure; never throws on bad data. */
export function resolveNode(input: RenderInput): NodeContext {
  const problems: string[] = [];
  const { node, identity } = input;
  const bit = input.options?.masqueradeBit ?? DEFAULT_MASQUERADE_BIT;
  const validBit = Number.isInteger(bit) && bit >= 0 && bit <= 31;
  if (!validBit) problems.push(`masqueradeBit ${bit} is not in 0..31; using ${DEFAULT_MASQUERADE_BIT}`);
  const nodePortAddresses: Record<IPFamily, string[]> = { IPv4: [], IPv6: [] };
  for (const text of node.nodePortAddresses ?? []) {
    const address = canonicalAddr(text);
    if (address === undefined) { problems.push(`node: invalid node-port address ${JSON.stringify(text)} ignored`); continue; }
    const family = familyOfValid(address);
    if (!nodePortAddresses[family].includes(address)) nodePortAddresses[family].push(address);
  }
  const allLocal = (node.nodePortAddresses ?? []).length === 0;
  const localTraffic = resolveLocalTraffic(node, problems);
  // The NodeNatPlan carries them; the option remains for callers without a plan field.
  const serviceCIDRs = cidrsByFamily(node.serviceCIDRs ?? input.options?.serviceCIDRs, 'serviceCIDRs', problems);
  const exposures = resolveExposures(node, problems);
  const exposuresByService = new Map<string, ExposureSpec[]>();
  for (const x of exposures) exposuresByService.set(x.service, [...exposuresByService.get(x.service) ?? [], x]);
  const family = (f: IPFamily): NodeContext['families'][IPFamily] => ({
    family: f, nodePortAddresses: allLocal ? 'all-local' : nodePortAddresses[f], localTraffic: localTraffic[f], serviceCIDRs: serviceCIDRs[f],
  });
  const context = {
    identity: { nodeName: identity.nodeName, ...(identity.zone !== undefined ? { zone: identity.zone } : {}) },
    masqueradeAll: node.masqueradeAll === true,
    masqueradeMark: 2 ** (validBit ? bit : DEFAULT_MASQUERADE_BIT),
    families: { IPv4: family('IPv4'), IPv6: family('IPv6') },
    exposures,
    problems,
  };
  return { ...context, exposuresByService, key: JSON.stringify(context) };
}
