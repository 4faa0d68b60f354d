/**
 * Per-Service objects: a few small chains per Service port, endpoint chains, and the
 * elements that hook them into the shared maps.
 *
 * Balancing is a chain of `numgen random mod (N-k) == 0 goto ep-k` rules (rule k wins
 * with probability 1/(N-k) among the remaining endpoints, so each endpoint gets 1/N), not
 * `numgen random mod N vmap { ... }`: that form creates an anonymous map per Service, and
 * anonymous maps load superlinearly. Measured here (nft 1.0.6, Linux 6.18, fresh netns,
 * 3 endpoints per Service): 1,000 Services 0.25 s vs 0.15 s; 5,000 Services 3.39 s vs
 * 0.75 s. The rules are only walked by the first packet of a connection (nat chains).
 *
 * Without affinity the DNAT is in the balancing rule itself (no chain per endpoint), and
 * hairpin masquerade is one lookup in the shared `hairpin` set in postrouting. Whole
 * ruleset, 10k Services x 10 endpoints (~140k rules, 30k chains, 18 MB): `nft -f` takes
 * ~5 s here, almost all of it nft's user-space parsing (`nft -c` alone: 5.1 s; 100k plain
 * rules cost ~2-3 s in nft 1.0.6). Endpoint chains, as in kube-proxy, doubled that (14 s).
 * An endpoint-slot map (`dnat ip to ip daddr . meta l4proto . th dport . numgen random
 * mod N map @slots`, loads 100k elements in 1.3 s) would be the next step; it needs an
 * element per frontend and endpoint and a separate key for `fib`-matched node ports.
 *
 * Session affinity uses one named dynamic set (client address, with the Service's
 * timeout) and one chain per endpoint, for ClientIP Services only. nft 1.0.6 cannot look up a concatenation holding
 * a constant (`ip saddr . 10.0.0.1 @set` fails to parse), which rules out one shared
 * affinity set keyed by client . endpoint.
 */
import { hostPort } from './addresses.js';
import { fnv1a64Hex } from './hash.js';
import type { ChainState, IpFamily, SetState } from './model.js';
import type { Backend, ExposureNat, FamilyPlan, ServicePortNat } from './plan.js';
import { CHAIN, SET, addressType, nodePortMatch } from './nft-skeleton.js';

export interface UdpFacts {
  /** `address|port` of every UDP endpoint a chain DNATs to. */
  endpoints: Set<string>;
  /** `address|port` of UDP frontends -> whether they have endpoints (false: rejected/dropped). */
  frontends: Map<string, boolean>;
  /**
   * `frontend address|port|endpoint address|port` of every UDP frontend-to-endpoint path:
   * an endpoint that leaves one Service but still serves another loses only that
   * Service's flows (a pod can back several Services on the same port).
   */
  paths: Set<string>;
}

/** The UDP frontends (`address|port`) whose traffic a Service port DNATs to its endpoints. */
function udpFrontendsOf(p: ServicePortNat, plan: FamilyPlan): string[] {
  const out = [...(p.clusterIP ? [p.clusterIP] : []), ...p.externalIPs, ...p.loadBalancerIPs].map((a) => `${a}|${p.port}`);
  if (p.nodePort !== undefined && Array.isArray(plan.nodePortAddresses)) for (const a of plan.nodePortAddresses) out.push(`${a}|${p.nodePort}`);
  return out;
}

export interface FamilyObjects {
  chains: ChainState[];
  sets: SetState[];
  /** Elements for the skeleton's maps and sets: set name -> key -> value. */
  elements: Map<string, Map<string, string>>;
  problems: string[];
  udp: UdpFacts;
}

const comment = (label: string | undefined): string => (label ? ` comment "${label}"` : '');

class FamilyBuilder {
  readonly out: FamilyObjects = { chains: [], sets: [], elements: new Map(), problems: [], udp: { endpoints: new Set(), frontends: new Map(), paths: new Set() } };
  /** Frontend keys already claimed in service-ips/no-endpoint-services, and in the node-port maps. */
  private readonly claimedIps = new Map<string, string>();
  private readonly claimedNodePorts = new Map<string, string>();
  private readonly chainNames = new Set<string>();

  constructor(readonly plan: FamilyPlan) {}

  element(set: string, key: string, value = ''): void {
    let elements = this.out.elements.get(set);
    if (!elements) this.out.elements.set(set, (elements = new Map()));
    elements.set(key, value);
  }

  chain(name: string, rules: string[]): string {
    if (!this.chainNames.has(name)) {
      this.chainNames.add(name);
      this.out.chains.push({ name, rules });
    }
    return name;
  }

  /** Route a frontend `address . proto . port` to a chain, or to drop/reject when `target` is undefined. */
  frontend(address: string, p: { protocol: string; port: number }, target: string | undefined, anyEndpoints: boolean, owner: string): void {
    const key = `${address} . ${p.protocol} . ${p.port}`;
    const previous = this.claimedIps.get(key);
    if (previous !== undefined) { this.out.problems.push(`${this.plan.family} ${key}: claimed by ${previous}; ${owner} skipped`); return; }
    this.claimedIps.set(key, owner);
    if (target) this.element(SET.serviceIps, key, `goto ${target}`);
    else this.element(SET.noEndpointServices, key, anyEndpoints ? 'drop' : `goto ${CHAIN.rejectPacket}`);
    if (p.protocol === 'udp') this.out.udp.frontends.set(`${address}|${p.port}`, target !== undefined);
  }

  nodePort(p: ServicePortNat, target: string | undefined): void {
    if (p.nodePort === undefined || !nodePortMatch(this.plan)) return;
    const key = `${p.protocol} . ${p.nodePort}`;
    const owner = `Service port ${p.label ?? p.id}`;
    const previous = this.claimedNodePorts.get(key);
    if (previous !== undefined) { this.out.problems.push(`${this.plan.family} node port ${key}: claimed by ${previous}; ${owner} skipped`); return; }
    this.claimedNodePorts.set(key, owner);
    if (target) this.element(SET.serviceNodePorts, key, `goto ${target}`);
    else this.element(SET.noEndpointNodePorts, key, p.hasAnyEndpoints ? 'drop' : `goto ${CHAIN.rejectPacket}`);
    if (p.protocol === 'udp' && Array.isArray(this.plan.nodePortAddresses)) {
      for (const address of this.plan.nodePortAddresses) this.out.udp.frontends.set(`${address}|${p.nodePort}`, target !== undefined);
    }
  }

  firewall(address: string, p: { protocol: string; port: number }, ranges: string[]): void {
    const key = `${address} . ${p.protocol} . ${p.port}`;
    this.element(SET.firewallIps, key);
    for (const range of ranges) this.element(SET.firewallAllow, `${key} . ${range}`);
  }

  /** Records a programmed endpoint: hairpin set element, UDP facts. Returns its `dnat` statement. */
  private dnat(p: ServicePortNat, backend: Backend): string {
    // Hairpin: a pod reaching itself through a Service must be masqueraded, or it would
    // answer itself directly and drop the reply. One `address . address` element per
    // endpoint address, matched once in postrouting, instead of a rule per endpoint.
    this.element(SET.hairpin, `${backend.address} . ${backend.address}`);
    if (p.protocol === 'udp') {
      this.out.udp.endpoints.add(`${backend.address}|${backend.port}`);
      for (const f of udpFrontendsOf(p, this.plan)) this.out.udp.paths.add(`${f}|${backend.address}|${backend.port}`);
    }
    return `meta l4proto ${p.protocol} dnat to ${hostPort(this.plan.family, backend.address, backend.port)}`;
  }

  /** With ClientIP affinity: an endpoint chain that remembers the client, and its set. */
  private affinityEndpoint(p: ServicePortNat, backend: Backend, timeoutSeconds: number): { chain: string; set: string } {
    const hash = fnv1a64Hex(`${p.id}|${backend.address}|${backend.port}`);
    const ipx = this.plan.family;
    const set = `aff-${hash}`;
    const chain = `ep-${hash}`;
    if (!this.chainNames.has(chain)) {
      this.out.sets.push({
        definition: { kind: 'set', family: ipx, name: set, type: addressType(ipx), flags: ['dynamic', 'timeout'], timeoutSeconds },
        elements: new Map(),
      });
      this.chain(chain, [`update @${set} { ${ipx} saddr }`, this.dnat(p, backend)]);
    }
    return { chain, set };
  }

  /**
   * A chain spreading new connections evenly over `backends`. Without affinity the DNAT
   * sits in the balancing rule itself: no chain per endpoint (at 100k endpoints, chains
   * dominate the load time of the ruleset).
   */
  balanceChain(prefix: 'cl' | 'lo', p: ServicePortNat, backends: Backend[]): string | undefined {
    if (!backends.length) return undefined;
    const ipx = this.plan.family;
    const timeout = p.affinityTimeoutSeconds;
    const actions = backends.map((b) => {
      if (timeout === undefined) return { action: this.dnat(p, b), set: undefined };
      const ep = this.affinityEndpoint(p, b, timeout);
      return { action: `goto ${ep.chain}`, set: ep.set };
    });
    const rules: string[] = [];
    for (const a of actions) if (a.set) rules.push(`${ipx} saddr @${a.set} ${a.action}`);
    actions.forEach((a, k) => {
      const remaining = actions.length - k;
      rules.push(remaining > 1 ? `numgen random mod ${remaining} == 0 ${a.action}` : a.action);
    });
    return this.chain(`${prefix}-${p.id}`, rules);
  }
}

function masqueradeRuleForClusterIP(plan: FamilyPlan, masqueradeAll: boolean): string[] {
  if (masqueradeAll) return [`jump ${CHAIN.markForMasquerade}`];
  // Without cluster CIDRs we cannot tell off-cluster clients apart; kube-proxy then leaves
  // cluster-IP traffic unmasqueraded too (only hairpin is masqueraded).
  return plan.clusterCIDRs.length ? [`${plan.family} saddr != @${SET.clusterCidrs} jump ${CHAIN.markForMasquerade}`] : [];
}

function renderServicePort(b: FamilyBuilder, p: ServicePortNat, masqueradeAll: boolean, preservedByExposure: boolean, masqueradedByExposure: boolean): void {
  const ipx = b.plan.family;
  const owner = `Service port ${p.label ?? p.id}`;
  const hasExternal = p.nodePort !== undefined || p.externalIPs.length > 0 || p.loadBalancerIPs.length > 0;
  // Only the chains some frontend reaches are created (an internal-Local Service without
  // external frontends needs no Cluster chain).
  const needsCluster = (p.clusterIP !== undefined && !p.internalLocal) || hasExternal || masqueradedByExposure;
  const cl = needsCluster ? b.balanceChain('cl', p, p.clusterEndpoints) : undefined;
  const lo = p.internalLocal || p.externalLocal || preservedByExposure ? b.balanceChain('lo', p, p.localEndpoints) : undefined;

  if (p.clusterIP) {
    const target = p.internalLocal ? lo : cl;
    const chain = target && b.chain(`svc-${p.id}`, [...masqueradeRuleForClusterIP(b.plan, masqueradeAll), `goto ${target}${comment(p.label)}`]);
    b.frontend(p.clusterIP, p, chain, p.hasAnyEndpoints, owner);
  }

  let external: string | undefined;
  if (!hasExternal) return;
  if (!p.externalLocal && cl) {
    // Cluster policy: the reply must come back through this node, so masquerade.
    external = b.chain(`ext-${p.id}`, [`jump ${CHAIN.markForMasquerade}`, `goto ${cl}${comment(p.label)}`]);
  } else if (p.externalLocal && lo) {
    external = b.chain(`ext-${p.id}`, [
      // Pods and processes of this node may use every endpoint (kube-proxy's short-circuit):
      // their traffic never left the node, so there is no client address to preserve.
      ...(cl ? [`${ipx} saddr @${SET.podCidrs} goto ${cl}`] : []),
      `fib saddr type local jump ${CHAIN.markForMasquerade}`,
      ...(cl ? [`fib saddr type local goto ${cl}`] : []),
      `goto ${lo}${comment(p.label)}`,
    ]);
  }
  b.nodePort(p, external);
  for (const address of [...p.externalIPs, ...p.loadBalancerIPs]) b.frontend(address, p, external, p.hasAnyEndpoints, owner);
  if (p.loadBalancerSourceRanges) for (const address of p.loadBalancerIPs) b.firewall(address, p, p.loadBalancerSourceRanges);
}

function renderExposure(b: FamilyBuilder, x: ExposureNat): void {
  const owner = `exposure ${x.address}:${x.port}/${x.protocol}`;
  const p = x.target;
  let target: string | undefined;
  if (p && x.preserveClientAddress && p.localEndpoints.length) target = `lo-${p.id}`;
  if (p && !x.preserveClientAddress && p.clusterEndpoints.length) {
    target = b.chain(`xm-${p.id}`, [`jump ${CHAIN.markForMasquerade}`, `goto cl-${p.id}${comment(p.label)}`]);
  }
  b.frontend(x.address, x, target, p?.hasAnyEndpoints ?? false, owner);
  if (x.sourceRanges) b.firewall(x.address, x, x.sourceRanges);
}

export function renderFamilyServices(plan: FamilyPlan, masqueradeAll: boolean): FamilyObjects {
  const b = new FamilyBuilder(plan);
  const preserved = new Set(plan.exposures.filter((x) => x.preserveClientAddress && x.target).map((x) => x.target?.id));
  const masqueraded = new Set(plan.exposures.filter((x) => !x.preserveClientAddress && x.target).map((x) => x.target?.id));
  for (const p of plan.services) renderServicePort(b, p, masqueradeAll, preserved.has(p.id), masqueraded.has(p.id));
  for (const x of plan.exposures) renderExposure(b, x);
  return b.out;
}

export type { IpFamily };
