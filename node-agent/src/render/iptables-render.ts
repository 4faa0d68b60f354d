/**
 * iptables-restore input with the same semantics as the nftables renderer, for hosts
 * without nftables. Built from the same resolved plan (plan.ts), so the two backends
 * differ only in syntax and in packet cost: iptables walks NATPLAN-SERVICES linearly.
 *
 * The input is meant for `iptables-restore --noflush`: it declares (and so flushes) only
 * NATPLAN-* chains. The jumps from the built-in chains into ours cannot be written
 * idempotently in restore syntax, so they are returned by `iptablesHookJumps()` for the
 * applier to ensure with `iptables -C || iptables -I`.
 *
 * Source ranges are checked in the filter table against the conntrack ORIGINAL destination
 * (`--ctorigdst`), because by then the nat table has rewritten the destination.
 *
 * Exposures match only packets addressed to this node (`-m addrtype --dst-type LOCAL`, the
 * twin of nft's `fib daddr type local`): their frontends live in NATPLAN-EXPOSURES and
 * NATPLAN-NO-EP-EXPOSURES, entered only for local destinations, so a pod's or the node's
 * own connection to another host is never captured, whatever address a policy names. Their
 * source ranges apply to connections the exposure DNATed (`--ctstate DNAT`) or that are
 * still addressed to a local address (no endpoints): never to traffic passing through.
 */
import { familyBits, formatHostPort, parseAddr, parsePrefix, prefixContains, type IPFamily } from '@natplan/netaddr';
import { fnv1a64Hex } from '@natplan/controller-kit/hash';
import type { Backend, FamilyPlan, NatPlan, RenderInput, ServicePortNat } from './plan.js';
import { resolvePlan } from './plan.js';

const P = 'NATPLAN-';
const C = {
  services: `${P}SERVICES`, nodePorts: `${P}NODEPORTS`, postrouting: `${P}POSTROUTING`, markMasq: `${P}MARK-MASQ`,
  masqOffCluster: `${P}MASQ-OFFCLUSTER`, noEndpoints: `${P}NO-ENDPOINTS`, noEndpointNodePorts: `${P}NO-EP-NODEPORTS`, firewall: `${P}FIREWALL`,
  clusterIps: `${P}CLUSTER-IPS`, serviceRange: `${P}SERVICE-RANGE`, reject: `${P}REJECT`,
  exposures: `${P}EXPOSURES`, noEndpointExposures: `${P}NO-EP-EXPOSURES`,
} as const;

/** The chains every iptables render declares, in both families (the kernel check reads their first rules). */
export const IPTABLES_STATIC_CHAINS: readonly string[] = Object.values(C);

export interface IptablesJump { table: 'nat' | 'filter'; chain: string; args: string[] }

/** Jumps from built-in chains into natplan's; the same in both families. */
export function iptablesHookJumps(): IptablesJump[] {
  const isNew = ['-m', 'conntrack', '--ctstate', 'NEW'];
  return [
    { table: 'nat', chain: 'PREROUTING', args: ['-j', C.services] },
    { table: 'nat', chain: 'OUTPUT', args: ['-j', C.services] },
    { table: 'nat', chain: 'POSTROUTING', args: ['-j', C.postrouting] },
    ...(['INPUT', 'FORWARD', 'OUTPUT'] as const).flatMap((chain) => [
      { table: 'filter' as const, chain, args: [...isNew, '-j', C.firewall] },
      { table: 'filter' as const, chain, args: [...isNew, '-j', C.noEndpoints] },
    ]),
    // filter OUTPUT runs after nat OUTPUT's DNAT, like FORWARD: only undelivered Service addresses are left.
    ...(['FORWARD', 'OUTPUT'] as const).map((chain) => ({ table: 'filter' as const, chain, args: [...isNew, '-j', C.clusterIps] })),
  ];
}

const inCidr = (cidrText: string, address: string): boolean => {
  const prefix = parsePrefix(cidrText);
  const parsed = parseAddr(address);
  return prefix !== undefined && parsed !== undefined && prefixContains(prefix, parsed);
};
const hostMask = (family: IPFamily, address: string): string => `${address}/${familyBits(family)}`;
const comment = (label: string | undefined): string => (label ? ` -m comment --comment "${label}"` : '');
const l4 = (protocol: string, port: number): string => `-p ${protocol} -m ${protocol} --dport ${port}`;

/** Table -> chain -> its rules (`-A CHAIN ...` lines, in order): what the applier diffs chain by chain. */
export type IptablesChains = ReadonlyMap<string, ReadonlyMap<string, readonly string[]>>;

class TableWriter {
  readonly chains = new Set<string>();
  readonly rules: string[] = [];
  chain(name: string): string { this.chains.add(name); return name; }
  rule(chain: string, spec: string): void { this.chains.add(chain); this.rules.push(`-A ${chain} ${spec}`); }
  /** The rules grouped by chain, chains in declaration order. */
  byChain(): Map<string, string[]> {
    const out = new Map<string, string[]>([...this.chains].map((c) => [c, []]));
    for (const rule of this.rules) out.get(rule.slice(3, rule.indexOf(' ', 3)))?.push(rule);
    return out;
  }
  text(table: string, staleChains: string[]): string {
    const stale = staleChains.filter((c) => c.startsWith(P) && !this.chains.has(c));
    const declared = [...this.chains, ...stale].map((c) => `:${c} - [0:0]`);
    return [`*${table}`, ...declared, ...this.rules, ...stale.map((c) => `-X ${c}`), 'COMMIT', ''].join('\n');
  }
}

function renderFamily(plan: FamilyPlan, masqueradeAll: boolean, mark: string): { nat: TableWriter; filter: TableWriter } {
  const { family } = plan;
  const nat = new TableWriter();
  const filter = new TableWriter();
  for (const name of [C.services, C.nodePorts, C.postrouting, C.markMasq, C.masqOffCluster, C.exposures]) nat.chain(name);
  for (const name of [C.noEndpoints, C.noEndpointNodePorts, C.firewall, C.clusterIps, C.serviceRange, C.reject, C.noEndpointExposures]) filter.chain(name);
  // Packets still addressed to a cluster IP after DNAT (a port or protocol its Service
  // does not serve) are refused, as kube-proxy's nftables mode does (its iptables mode let
  // them through, a known defect); other addresses of the Service range are dropped. The
  // per-IP rules of cluster IPs inside a Service CIDR are walked only by packets still
  // addressed to that range.
  const inServiceRange = (ip: string): boolean => plan.serviceCIDRs.some((cidr) => inCidr(cidr, ip));
  for (const cidr of plan.serviceCIDRs) filter.rule(C.clusterIps, `-d ${cidr} -j ${C.serviceRange}`);
  for (const ip of plan.clusterIPs) {
    filter.rule(inServiceRange(ip) ? C.serviceRange : C.clusterIps, `-d ${hostMask(family, ip)} -j ${C.reject}`);
  }
  filter.rule(C.serviceRange, '-j DROP');
  filter.rule(C.reject, `-p tcp ${rejectTarget('tcp')}`);
  filter.rule(C.reject, rejectTarget('any'));
  const epChains = new Set<string>();
  const preserved = new Set(plan.exposures.filter((x) => x.preserveClientAddress && x.target).map((x) => x.target?.id));
  const masqueraded = new Set(plan.exposures.filter((x) => !x.preserveClientAddress && x.target).map((x) => x.target?.id));
  const nodePortRules: string[] = [];
  const noEndpointNodePortRules: string[] = [];
  const claimed = new Set<string>();

  const endpointChain = (p: ServicePortNat, b: Backend): string => {
    const hash = fnv1a64Hex(`${p.id}|${b.address}|${b.port}`);
    const name = `${P}SEP-${hash}`;
    if (!epChains.has(name)) {
      epChains.add(name);
      nat.rule(name, `-s ${hostMask(family, b.address)} -j ${C.markMasq}`);
      const affinity = p.affinityTimeoutSeconds !== undefined ? `-m recent --name ${hash} --set ` : '';
      nat.rule(name, `${affinity}-p ${p.protocol} -m ${p.protocol} -j DNAT --to-destination ${formatHostPort(b.address, b.port)}`);
    }
    return name;
  };
  const balance = (prefix: 'CL' | 'LO', p: ServicePortNat, backends: Backend[]): string | undefined => {
    if (!backends.length) return undefined;
    const name = nat.chain(`${P}${prefix}-${p.id}`);
    const eps = backends.map((b) => ({ chain: endpointChain(p, b), hash: fnv1a64Hex(`${p.id}|${b.address}|${b.port}`) }));
    if (p.affinityTimeoutSeconds !== undefined) {
      for (const ep of eps) nat.rule(name, `-m recent --name ${ep.hash} --rcheck --seconds ${p.affinityTimeoutSeconds} --reap -j ${ep.chain}`);
    }
    eps.forEach((ep, k) => {
      const remaining = eps.length - k;
      nat.rule(name, remaining > 1 ? `-m statistic --mode random --probability ${(1 / remaining).toFixed(10)} -j ${ep.chain}` : `-j ${ep.chain}`);
    });
    return name;
  };
  // Exposure frontends go to their own chains, entered only for local destinations. With
  // `dropUntranslated`, what `target` leaves untranslated (external clients of a Local
  // Service without a local endpoint) is dropped in the filter table, which runs after DNAT.
  const frontend = (address: string, p: { protocol: string; port: number }, target: string | undefined, anyEndpoints: boolean, label: string | undefined, kind: 'service' | 'exposure' = 'service', dropUntranslated = false): void => {
    const key = `${address}|${p.protocol}|${p.port}`;
    if (claimed.has(key)) return; // same first-wins rule as nft; the conflict is reported there
    claimed.add(key);
    const match = `-d ${hostMask(family, address)} ${l4(p.protocol, p.port)}${comment(label)}`;
    const exposure = kind === 'exposure';
    if (target) nat.rule(exposure ? C.exposures : C.services, `${match} -j ${target}`);
    if (!target) filter.rule(exposure ? C.noEndpointExposures : C.noEndpoints, `${match} ${anyEndpoints ? '-j DROP' : rejectTarget(p.protocol)}`);
    else if (dropUntranslated) filter.rule(C.noEndpoints, `${match} -j DROP`);
  };
  const firewall = (address: string, p: { protocol: string; port: number }, ranges: string[], exposure = false): void => {
    const name = filter.chain(`${P}FW-${fnv1a64Hex(`${address}|${p.protocol}|${p.port}`)}`);
    const original = `-m conntrack --ctorigdst ${hostMask(family, address)} --ctorigdstport ${p.port}`;
    if (!exposure) filter.rule(C.firewall, `-p ${p.protocol} ${original} -j ${name}`);
    else {
      // DNATed by the exposure (which only matched a local address), or still addressed to
      // a local address (no endpoints): never a connection to another host.
      filter.rule(C.firewall, `-p ${p.protocol} -m conntrack --ctstate DNAT ${original} -j ${name}`);
      filter.rule(C.firewall, `-p ${p.protocol} -m addrtype --dst-type LOCAL ${original} -j ${name}`);
    }
    for (const range of ranges) filter.rule(name, `-s ${range} -j RETURN`);
    filter.rule(name, '-j DROP');
  };

  const fromPod = localTrafficMatches(plan);
  for (const p of plan.services) {
    const hasExternal = p.nodePort !== undefined || p.externalIPs.length > 0 || p.loadBalancerIPs.length > 0;
    const needsCluster = (p.clusterIP !== undefined && !p.internalLocal) || hasExternal || masqueraded.has(p.id);
    const cl = needsCluster ? balance('CL', p, p.clusterEndpoints) : undefined;
    const lo = p.internalLocal || p.externalLocal || preserved.has(p.id) ? balance('LO', p, p.localEndpoints) : undefined;
    if (p.clusterIP) {
      const target = p.internalLocal ? lo : cl;
      let chain: string | undefined;
      if (target) {
        chain = nat.chain(`${P}SVC-${p.id}`);
        if (masqueradeAll) nat.rule(chain, `-j ${C.markMasq}`);
        else if (fromPod.length) nat.rule(chain, `-j ${C.masqOffCluster}`);
        nat.rule(chain, `-j ${target}`);
      }
      frontend(p.clusterIP, p, chain, p.hasAnyEndpoints, p.label);
    }
    let external: string | undefined;
    if (!hasExternal) continue;
    if (!p.externalLocal && cl) {
      external = nat.chain(`${P}EXT-${p.id}`);
      nat.rule(external, `-j ${C.markMasq}`);
      nat.rule(external, `-j ${cl}`);
    } else if (p.externalLocal && (lo || cl)) {
      // Pods and processes of this node use every endpoint (the short-circuit); without a
      // local endpoint that is all the chain does, and external clients are dropped.
      external = nat.chain(`${P}EXT-${p.id}`);
      if (cl) for (const match of fromPod) nat.rule(external, `${match} -j ${cl}`);
      nat.rule(external, `-m addrtype --src-type LOCAL -j ${C.markMasq}`);
      if (cl) nat.rule(external, `-m addrtype --src-type LOCAL -j ${cl}`);
      if (lo) nat.rule(external, `-j ${lo}`);
    }
    const dropUntranslated = p.externalLocal && !lo;
    // First wins per protocol and node port, as nft's claim does (the API server never
    // allocates one node port twice, but a plan is input and the backends must agree).
    const nodePortKey = `nodeport|${p.protocol}|${p.nodePort}`;
    if (p.nodePort !== undefined && !claimed.has(nodePortKey)) {
      claimed.add(nodePortKey);
      const match = `${l4(p.protocol, p.nodePort)}${comment(p.label)}`;
      if (external) nodePortRules.push(`${match} -j ${external}`);
      if (!external) noEndpointNodePortRules.push(`${match} ${p.hasAnyEndpoints ? '-j DROP' : rejectTarget(p.protocol)}`);
      else if (dropUntranslated) noEndpointNodePortRules.push(`${match} -j DROP`);
    }
    for (const address of [...p.externalIPs, ...p.loadBalancerIPs]) frontend(address, p, external, p.hasAnyEndpoints, p.label, 'service', dropUntranslated);
    if (p.loadBalancerSourceRanges) for (const address of p.loadBalancerIPs) firewall(address, p, p.loadBalancerSourceRanges);
  }
  for (const x of plan.exposures) {
    const p = x.target;
    let target: string | undefined;
    if (p && x.preserveClientAddress && p.localEndpoints.length) target = `${P}LO-${p.id}`;
    if (p && !x.preserveClientAddress && p.clusterEndpoints.length) {
      target = nat.chain(`${P}XM-${p.id}`);
      if (!nat.rules.some((r) => r.startsWith(`-A ${target} `))) {
        nat.rule(target, `-j ${C.markMasq}`);
        nat.rule(target, `-j ${P}CL-${p.id}`);
      }
    }
    frontend(x.address, x, target, p?.hasAnyEndpoints ?? false, p?.label, 'exposure');
    if (x.sourceRanges) firewall(x.address, x, x.sourceRanges, true);
  }
  // After every Service address, before node ports: the order of nft's services chain.
  nat.rule(C.services, `-m addrtype --dst-type LOCAL -j ${C.exposures}`);
  filter.rule(C.noEndpoints, `-m addrtype --dst-type LOCAL -j ${C.noEndpointExposures}`);

  // Node ports come after every explicit address, as in kube-proxy.
  const nodePortDestinations = plan.nodePortAddresses === 'all-local'
    ? [`-m addrtype --dst-type LOCAL ! -d ${family === 'IPv4' ? '127.0.0.0/8' : '::1/128'}`]
    : plan.nodePortAddresses.map((a) => `-d ${hostMask(family, a)}`);
  for (const dst of nodePortDestinations) {
    nat.rule(C.services, `${dst} -j ${C.nodePorts}`);
    filter.rule(C.noEndpoints, `${dst} -j ${C.noEndpointNodePorts}`);
  }
  for (const r of nodePortRules) nat.rule(C.nodePorts, r);
  for (const r of noEndpointNodePortRules) filter.rule(C.noEndpointNodePorts, r);

  for (const match of fromPod) nat.rule(C.masqOffCluster, `${match} -j RETURN`);
  nat.rule(C.masqOffCluster, `-j ${C.markMasq}`);
  nat.rule(C.markMasq, `-j MARK --or-mark ${mark}`);
  nat.rule(C.postrouting, `-m mark ! --mark ${mark}/${mark} -j RETURN`);
  nat.rule(C.postrouting, `-j MARK --xor-mark ${mark}`);
  nat.rule(C.postrouting, '-j MASQUERADE --random-fully');
  return { nat, filter };
}

/**
 * The matches for "from this node's pods", any one of which suffices: one per local CIDR,
 * or the interface (`+` is iptables' prefix wildcard); none when the family detects none.
 * The node's own packets have no input interface, so `-i` never matches them.
 */
function localTrafficMatches(plan: FamilyPlan): string[] {
  const lt = plan.localTraffic;
  if (lt.kind === 'cidrs') return lt.cidrs.map((cidr) => `-s ${cidr}`);
  if (lt.kind === 'interface') return [`-i ${lt.name}${lt.prefix ? '+' : ''}`];
  return [];
}

/** Names of natplan's chains in the filter table (the others are in nat). */
const FILTER_CHAIN = /^NATPLAN-(FW-|NO-|FIREWALL|CLUSTER-IPS|SERVICE-RANGE|REJECT$)/;

function rejectTarget(protocol: string): string {
  return protocol === 'tcp' ? '-j REJECT --reject-with tcp-reset' : '-j REJECT';
}

export interface IptablesOptions {
  /** NATPLAN-* chains that exist now (from iptables-save); those no longer wanted are deleted. */
  existingChains?: { IPv4?: string[]; IPv6?: string[] };
}

/** iptables-restore (--noflush) input for both families; problems are reported by renderNftables. */
export function renderIptables(input: RenderInput, options: IptablesOptions = {}): { IPv4: string; IPv6: string } {
  const plan = resolvePlan(input);
  const mark = `0x${plan.masqueradeMark.toString(16)}`;
  const text = (family: FamilyPlan, stale: string[]): string => {
    const { nat, filter } = renderFamily(family, plan.masqueradeAll, mark);
    return nat.text('nat', stale) + filter.text('filter', stale);
  };
  return { IPv4: text(plan.families.IPv4, options.existingChains?.IPv4 ?? []), IPv6: text(plan.families.IPv6, options.existingChains?.IPv6 ?? []) };
}

/** The same rules as renderIptables, per family as chains (the applier writes only changed ones). */
export function renderIptablesChains(plan: NatPlan): { IPv4: IptablesChains; IPv6: IptablesChains } {
  const mark = `0x${plan.masqueradeMark.toString(16)}`;
  const chains = (family: FamilyPlan): IptablesChains => {
    const { nat, filter } = renderFamily(family, plan.masqueradeAll, mark);
    return new Map([['nat', nat.byChain()], ['filter', filter.byChain()]]);
  };
  return { IPv4: chains(plan.families.IPv4), IPv6: chains(plan.families.IPv6) };
}

/**
 * restore input (for --noflush) that empties and deletes natplan's chains: the static ones
 * and any listed. Remove the hook jumps (`iptablesHookJumps`) first, or the deletes fail.
 */
export function iptablesCleanupScripts(existingChains: { IPv4?: string[]; IPv6?: string[] } = {}): { IPv4: string; IPv6: string } {
  const script = (extra: string[]): string => {
    const ours = (names: string[]): string[] => [...new Set(names.filter((c) => /^NATPLAN-[A-Za-z0-9-]{1,20}$/.test(c)))];
    const nat = ours([C.services, C.nodePorts, C.postrouting, C.markMasq, C.masqOffCluster, C.exposures, ...extra.filter((c) => !FILTER_CHAIN.test(c))]);
    const filter = ours([C.noEndpoints, C.noEndpointNodePorts, C.firewall, C.clusterIps, C.serviceRange, C.reject, C.noEndpointExposures, ...extra.filter((c) => FILTER_CHAIN.test(c))]);
    const table = (name: string, chains: string[]): string[] => [`*${name}`, ...chains.map((c) => `:${c} - [0:0]`), ...chains.map((c) => `-X ${c}`), 'COMMIT'];
    return [...table('nat', nat), ...table('filter', filter), ''].join('\n');
  };
  return { IPv4: script(existingChains.IPv4 ?? []), IPv6: script(existingChains.IPv6 ?? []) };
}
