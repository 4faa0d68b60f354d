/**
 * Per-Service objects: elements of the shared maps, and chains SHARED by every Service
 * port whose rules would be identical (their names say what they hold).
 *
 * Balancing without affinity: the frontend's verdict-map element (with the Service label
 * as its comment) goes to e.g. `svc-cluster-tcp-10` (the cluster-IP masquerade rule, then
 * `goto frontend-cluster-tcp-10`), whose one rule is `dnat ip to ip daddr . tcp dport .
 * numgen random mod 10 map @frontend-slots-tcp`; the endpoints are elements
 * `frontend . k -> endpoint` of that map (node ports use `nodeport-slots-*`, keyed by the
 * port alone, since any local address may receive them). So a Service adds elements
 * only, never rules: nft parses elements far faster than rules, and the kernel walks
 * every element of a data map each time a rule binds it (measured: 2,000 rules over one
 * 20k-element map, 1.1 s, nearly all system time), so the big maps must be bound by few
 * rules. Measured (nft 1.0.6, Linux 6.18, fresh netns), 10k Services x 10 endpoints:
 * rule-per-endpoint chains (~122k rules) 4.7 s; one chain per Service plus slot maps
 * (~22k rules) 2.3 s; shared chains (60 rules) 1.9 s, the rest being ~220k elements.
 * Per packet: one verdict-map lookup and one slot-map lookup, whatever the Service count.
 *
 * Per-Service anonymous `numgen ... vmap { }` maps are avoided: they load superlinearly
 * (5,000 Services 3.39 s vs 0.75 s). Hairpin masquerade is one lookup in the shared
 * `hairpin` set.
 *
 * Session affinity uses one named dynamic set (client address, with the Service's
 * timeout) and one chain per endpoint, for ClientIP Services only. nft 1.0.6 cannot look up a concatenation holding
 * a constant (`ip saddr . 10.0.0.1 @set` fails to parse), which rules out one shared
 * affinity set keyed by client . endpoint.
 */
import { hostPort } from './addresses.js';
import { fnv1a64Hex } from './hash.js';
import type { ChainState, IpFamily, SetState } from './model.js';
import type { Backend, ExposureNat, FamilyPlan, L4Protocol, ServicePortNat } from './plan.js';
import { CHAIN, SET, addressType, localTrafficMatch, nodePortMatch, slotKey, slotMapName } from './nft-skeleton.js';

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
  /**
   * With a memo: the element keys, per set, that may differ from the previous render with
   * that memo (every other element of these sets is the same); undefined when unknown.
   */
  touched?: Map<string, Set<string>>;
  /**
   * Set when `elements` holds only the touched keys that are present (with their values):
   * every other element is as in the previous render.
   */
  partial?: boolean;
}

/** Who a frontend belongs to: a Service (any destination) or an exposure (local destinations only). */
type FrontendKind = 'service' | 'exposure';
const FRONTEND_MAPS: Record<FrontendKind, { verdicts: string; noEndpoints: string; firewall: string; firewallAllow: string }> = {
  service: { verdicts: SET.serviceIps, noEndpoints: SET.noEndpointServices, firewall: SET.firewallIps, firewallAllow: SET.firewallAllow },
  exposure: { verdicts: SET.exposureIps, noEndpoints: SET.noEndpointExposures, firewall: SET.exposureFirewallIps, firewallAllow: SET.exposureFirewallAllow },
};

/** nft refuses comments over 128 characters; a longer label (DNS labels allow 143) is left out. */
const comment = (label: string | undefined): string => (label && label.length <= 128 ? ` comment "${label}"` : '');

/**
 * A frontend key a Service port asks for, with what it adds when granted. Only the first
 * claimant of a key (in Service order) gets it; later ones are reported as problems.
 */
interface Claim {
  kind: 'ip' | 'nodePort';
  key: string;
  owner: string;
  elements: [set: string, key: string, value: string][];
  udpFrontends: [key: string, hasEndpoints: boolean][];
}

/**
 * What one Service port adds to its family's objects, rendered on its own: unconditional
 * objects (chains, sets, elements, UDP facts) and the frontend claims, whose outcome
 * depends on the other Services. Replaying the contributions of every port in order gives
 * exactly what rendering them together gives.
 */
export interface PortContribution { objects: FamilyObjects; claims: Claim[] }

class FamilyBuilder {
  readonly out: FamilyObjects = { chains: [], sets: [], elements: new Map(), problems: [], udp: { endpoints: new Set(), frontends: new Map(), paths: new Set() } };
  /** Recording mode (one port's contribution): claims are collected, not decided. */
  private readonly claims: Claim[] | undefined;
  /** The claim whose granted elements are being recorded. */
  private capture: Claim | undefined;
  private readonly setNames = new Set<string>();
  /** Frontend keys already claimed in service-ips/no-endpoint-services, and in the node-port maps. */
  private readonly claimedIps = new Map<string, string>();
  private readonly claimedNodePorts = new Map<string, string>();
  private readonly chainNames = new Set<string>();
  /** `cl-<id>`/`lo-<id>` -> how new connections are spread over that endpoint list. */
  private readonly balanced = new Map<string, Balance>();

  constructor(readonly plan: FamilyPlan, recording = false) {
    this.claims = recording ? [] : undefined;
  }

  get contribution(): PortContribution {
    return { objects: this.out, claims: this.claims ?? [] };
  }

  element(set: string, key: string, value = ''): void {
    if (this.capture) { this.capture.elements.push([set, key, value]); return; }
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

  /**
   * Route a frontend `address . proto . port` to a chain, or to drop/reject when `target` is
   * undefined. Service and exposure frontends share one key space (and the slot maps);
   * their verdicts go to different maps (FRONTEND_MAPS). With `dropUntranslated`, what
   * `target` leaves untranslated (external clients of a Local Service without a local
   * endpoint) is dropped by the endpoints check.
   */
  frontend(address: string, p: { protocol: L4Protocol; port: number }, target: string | undefined, anyEndpoints: boolean, owner: string, slots: (Balance | undefined)[] = [], label?: string, kind: FrontendKind = 'service', dropUntranslated = false): void {
    const key = `${address} . ${p.protocol} . ${p.port}`;
    const maps = FRONTEND_MAPS[kind];
    this.claim('ip', key, owner, () => {
      if (target) for (const balance of slots) this.slotElements(slotMapName('frontend', p.protocol), `${address} . ${p.port}`, balance);
      if (target) this.element(maps.verdicts, key, `goto ${target}${comment(label)}`);
      if (!target) this.element(maps.noEndpoints, key, anyEndpoints ? 'drop' : `goto ${CHAIN.rejectPacket}`);
      else if (dropUntranslated) this.element(maps.noEndpoints, key, 'drop');
      if (p.protocol === 'udp') this.udpFrontend(`${address}|${p.port}`, target !== undefined);
    });
  }

  private udpFrontend(key: string, hasEndpoints: boolean): void {
    if (this.capture) this.capture.udpFrontends.push([key, hasEndpoints]);
    else this.out.udp.frontends.set(key, hasEndpoints);
  }

  /** Takes `key` for `owner` if it is free, else reports the loser; true when taken. */
  private take(kind: Claim['kind'], key: string, owner: string): boolean {
    const claimed = kind === 'ip' ? this.claimedIps : this.claimedNodePorts;
    const previous = claimed.get(key);
    if (previous !== undefined) {
      this.out.problems.push(`${this.plan.family} ${kind === 'ip' ? '' : 'node port '}${key}: claimed by ${previous}; ${owner} skipped`);
      return false;
    }
    claimed.set(key, owner);
    return true;
  }

  /** Runs `grant` if `key` is won; in recording mode, records the claim and what `grant` adds. */
  private claim(kind: Claim['kind'], key: string, owner: string, grant: () => void): void {
    if (!this.claims) {
      if (this.take(kind, key, owner)) grant();
      return;
    }
    const claim: Claim = { kind, key, owner, elements: [], udpFrontends: [] };
    this.claims.push(claim);
    this.capture = claim;
    try { grant(); } finally { this.capture = undefined; }
  }

  /**
   * Adds a recorded port contribution as if the port were rendered here. With `onlyClaims`,
   * unconditional elements are left out, and granted claims add their elements only when
   * their key is in it (the other elements are known to be as in the previous render).
   */
  replay(c: PortContribution, onlyClaims?: ReadonlySet<string>): void {
    const { objects } = c;
    for (const chain of objects.chains) {
      if (!this.chainNames.has(chain.name)) { this.chainNames.add(chain.name); this.out.chains.push(chain); }
    }
    for (const set of objects.sets) {
      if (!this.setNames.has(set.definition.name)) { this.setNames.add(set.definition.name); this.out.sets.push(set); }
    }
    if (!onlyClaims) for (const [set, elements] of objects.elements) for (const [key, value] of elements) this.element(set, key, value);
    for (const e of objects.udp.endpoints) this.out.udp.endpoints.add(e);
    for (const path of objects.udp.paths) this.out.udp.paths.add(path);
    for (const claim of c.claims) {
      if (!this.take(claim.kind, claim.key, claim.owner)) continue;
      if (!onlyClaims || onlyClaims.has(claimId(claim))) for (const [set, key, value] of claim.elements) this.element(set, key, value);
      for (const [key, value] of claim.udpFrontends) this.out.udp.frontends.set(key, value);
    }
  }

  /** The node-port twin of `frontend`. */
  nodePort(p: ServicePortNat, target: string | undefined, slots: (Balance | undefined)[] = [], dropUntranslated = false): void {
    if (p.nodePort === undefined || !nodePortMatch(this.plan)) return;
    const nodePort = p.nodePort;
    const key = `${p.protocol} . ${nodePort}`;
    const owner = `Service port ${p.label ?? p.id}`;
    this.claim('nodePort', key, owner, () => {
      if (target) for (const balance of slots) this.slotElements(slotMapName('nodeport', p.protocol), String(nodePort), balance);
      if (target) this.element(SET.serviceNodePorts, key, `goto ${target}${comment(p.label)}`);
      if (!target) this.element(SET.noEndpointNodePorts, key, p.hasAnyEndpoints ? 'drop' : `goto ${CHAIN.rejectPacket}`);
      else if (dropUntranslated) this.element(SET.noEndpointNodePorts, key, 'drop');
      if (p.protocol === 'udp' && Array.isArray(this.plan.nodePortAddresses)) {
        for (const address of this.plan.nodePortAddresses) this.udpFrontend(`${address}|${nodePort}`, target !== undefined);
      }
    });
  }

  firewall(address: string, p: { protocol: string; port: number }, ranges: string[], kind: FrontendKind = 'service'): void {
    const key = `${address} . ${p.protocol} . ${p.port}`;
    const maps = FRONTEND_MAPS[kind];
    this.element(maps.firewall, key);
    for (const range of ranges) this.element(maps.firewallAllow, `${key} . ${range}`);
  }

  /** Records a programmed endpoint: hairpin set element, UDP facts. */
  private record(p: ServicePortNat, backend: Backend): void {
    // Hairpin: a pod reaching itself through a Service must be masqueraded, or it would
    // answer itself directly and drop the reply. One `address . address` element per
    // endpoint address, matched once in postrouting, instead of a rule per endpoint.
    this.element(SET.hairpin, `${backend.address} . ${backend.address}`);
    if (p.protocol === 'udp') {
      this.out.udp.endpoints.add(`${backend.address}|${backend.port}`);
      for (const f of udpFrontendsOf(p, this.plan)) this.out.udp.paths.add(`${f}|${backend.address}|${backend.port}`);
    }
  }

  /** Records a programmed endpoint and returns its `dnat` statement. */
  private dnat(p: ServicePortNat, backend: Backend): string {
    this.record(p, backend);
    return `meta l4proto ${p.protocol} dnat to ${hostPort(this.plan.family, backend.address, backend.port)}`;
  }

  /** With ClientIP affinity: an endpoint chain that remembers the client, and its set. */
  private affinityEndpoint(p: ServicePortNat, backend: Backend, timeoutSeconds: number): { chain: string; set: string } {
    const hash = fnv1a64Hex(`${p.id}|${backend.address}|${backend.port}`);
    const ipx = this.plan.family;
    const set = `aff-${hash}`;
    const chain = `ep-${hash}`;
    if (!this.chainNames.has(chain)) {
      this.setNames.add(set);
      this.out.sets.push({
        definition: { kind: 'set', family: ipx, name: set, type: addressType(ipx), flags: ['dynamic', 'timeout'], timeoutSeconds },
        elements: new Map(),
      });
      this.chain(chain, [`update @${set} { ${ipx} saddr }`, this.dnat(p, backend)]);
    }
    return { chain, set };
  }

  /** The elements of `balance`'s endpoint slots for one frontend key, once it is claimed. */
  private slotElements(map: string, frontend: string, balance: Balance | undefined): void {
    if (!balance?.slots) return;
    const { offset, backends } = balance.slots;
    backends.forEach((b, k) => this.element(map, `${frontend} . ${offset + k}`, `${b.address} . ${b.port}`));
  }

  /**
   * How new connections reach one of `backends`, evenly (undefined without backends):
   * - ClientIP affinity: `goto` a chain of `numgen random mod (N-k) == 0` rules (rule k
   *   wins with probability 1/(N-k) among the remaining endpoints, so each gets 1/N);
   * - otherwise: `goto` a chain SHARED by every Service port with N endpoints of that
   *   protocol, whose one rule DNATs through `frontend . numgen random mod N` in a named
   *   slot map (N = 1 too: an element is cheaper than a chain and a rule). The frontend's
   *   slot elements are added when a frontend is claimed.
   * Local endpoint lists use slots from LOCAL_SLOTS up, so one frontend can hold both.
   */
  balance(prefix: 'cl' | 'lo', p: ServicePortNat, backends: Backend[]): Balance | undefined {
    const group = `${prefix}-${p.id}`;
    const known = this.balanced.get(group);
    if (known !== undefined || !backends.length) return known;
    let balance: Balance;
    const timeout = p.affinityTimeoutSeconds;
    if (timeout !== undefined) balance = this.affinityBalance(group, p, backends, timeout);
    else {
      for (const b of backends) this.record(p, b);
      const offset = prefix === 'lo' ? LOCAL_SLOTS : 0;
      const shared = `${prefix === 'lo' ? 'local' : 'cluster'}-${p.protocol}-${backends.length}`;
      const dnat = (kind: 'frontend' | 'nodeport'): string => {
        const name = `${kind}-${shared}`;
        const ipx = this.plan.family;
        const key = slotKey(ipx, kind, p.protocol);
        const map = slotMapName(kind, p.protocol);
        const mod = `numgen random mod ${backends.length}${offset ? ` offset ${offset}` : ''}`;
        return this.chain(name, [`meta l4proto ${p.protocol} dnat ${ipx} to ${key} . ${mod} map @${map}`]);
      };
      balance = { rule: `goto ${dnat('frontend')}`, nodePortRule: () => `goto ${dnat('nodeport')}`, slots: { offset, backends }, shared };
    }
    this.balanced.set(group, balance);
    return balance;
  }

  private affinityBalance(name: string, p: ServicePortNat, backends: Backend[], timeout: number): Balance {
    const ipx = this.plan.family;
    const eps = backends.map((b) => this.affinityEndpoint(p, b, timeout));
    const rules = eps.map((ep) => `${ipx} saddr @${ep.set} goto ${ep.chain}`);
    eps.forEach((ep, k) => {
      const remaining = eps.length - k;
      rules.push(remaining > 1 ? `numgen random mod ${remaining} == 0 goto ${ep.chain}` : `goto ${ep.chain}`);
    });
    return { rule: `goto ${this.chain(name, rules)}` };
  }
}

/** A statement sending a new connection to an endpoint list (see FamilyBuilder.balance). */
export interface Balance {
  /** For address frontends (cluster, external, load-balancer IPs, exposures). */
  rule: string;
  /** For node ports, when it differs from `rule` (creates the shared chain on first use). */
  nodePortRule?: () => string;
  /** For slot balancing: `cluster-tcp-10`, naming the shared chains that serve this kind of list. */
  shared?: string;
  /** Slot elements each claimed frontend needs: `frontend . (offset + k) -> backends[k]`. */
  slots?: { offset: number; backends: Backend[] };
}

/** First slot of Local endpoint lists; a list never holds that many endpoints. */
const LOCAL_SLOTS = 0x1000000;

function masqueradeRuleForClusterIP(plan: FamilyPlan, masqueradeAll: boolean): string[] {
  if (masqueradeAll) return [`jump ${CHAIN.markForMasquerade}`];
  // Without a local-traffic detector we cannot tell off-cluster clients apart; kube-proxy
  // then leaves cluster-IP traffic unmasqueraded too (only hairpin is masqueraded).
  const notLocal = localTrafficMatch(plan, true);
  return notLocal ? [`${notLocal} jump ${CHAIN.markForMasquerade}`] : [];
}

/**
 * Per-frontend-kind chains. With slot balancing their rules do not depend on the Service
 * (the endpoints are map elements), so they are shared, named after what they hold
 * (`svc-cluster-tcp-10`); with affinity they are per Service port (`svc-<id>`).
 */
function renderServicePort(b: FamilyBuilder, p: ServicePortNat, masqueradeAll: boolean, preservedByExposure: boolean, masqueradedByExposure: boolean): void {
  const fromPod = localTrafficMatch(b.plan, false);
  const owner = `Service port ${p.label ?? p.id}`;
  const hasExternal = p.nodePort !== undefined || p.externalIPs.length > 0 || p.loadBalancerIPs.length > 0;
  // Only the endpoint lists some frontend reaches are programmed (an internal-Local
  // Service without external frontends needs no Cluster list).
  const needsCluster = (p.clusterIP !== undefined && !p.internalLocal) || hasExternal || masqueradedByExposure;
  const cl = needsCluster ? b.balance('cl', p, p.clusterEndpoints) : undefined;
  const lo = p.internalLocal || p.externalLocal || preservedByExposure ? b.balance('lo', p, p.localEndpoints) : undefined;
  const note = (balance: Balance): string => (balance.shared ? '' : comment(p.label));
  const name = (kind: string, balances: (Balance | undefined)[]): string => {
    const shared = balances.filter((u) => u !== undefined).map((u) => u.shared);
    return shared.every((u) => u !== undefined) ? `${kind}-${shared.join('-')}` : `${kind}-${p.id}`;
  };

  if (p.clusterIP) {
    const target = p.internalLocal ? lo : cl;
    const chain = target && b.chain(name('svc', [target]), [...masqueradeRuleForClusterIP(b.plan, masqueradeAll), `${target.rule}${note(target)}`]);
    b.frontend(p.clusterIP, p, chain, p.hasAnyEndpoints, owner, [target], p.label);
  }

  if (!hasExternal) return;
  // The same rules for node ports and external addresses, except for the slot-map DNAT,
  // which is keyed by the node port alone (any local address may receive it).
  const external = (kind: string, go: (balance: Balance) => string): string | undefined => {
    if (!p.externalLocal && cl) {
      // Cluster policy: the reply must come back through this node, so masquerade.
      return b.chain(name(kind, [cl]), [`jump ${CHAIN.markForMasquerade}`, `${go(cl)}${note(cl)}`]);
    }
    if (!p.externalLocal || (!lo && !cl)) return undefined;
    const rules = [
      // Pods and processes of this node may use every endpoint (kube-proxy's short-circuit):
      // their traffic never left the node, so there is no client address to preserve.
      ...(cl && fromPod ? [`${fromPod} ${go(cl)}`] : []),
      `fib saddr type local jump ${CHAIN.markForMasquerade}`,
      ...(cl ? [`fib saddr type local ${go(cl)}`] : []),
    ];
    // Without a local endpoint only the short-circuit is left: what it does not take (an
    // external client) falls through untranslated, and the frontend's drop in the
    // endpoints check (after DNAT) discards it.
    if (!lo) return b.chain(name(`${kind}-shortcut`, [cl]), rules);
    return b.chain(name(kind, [cl, lo]), [...rules, `${go(lo)}${note(lo)}`]);
  };
  const used = p.externalLocal ? [cl, lo] : [cl];
  // A Local Service without a local endpoint: external clients are dropped.
  const dropUntranslated = p.externalLocal && !lo;
  const addresses = [...p.externalIPs, ...p.loadBalancerIPs];
  if (p.nodePort !== undefined) {
    const separate = used.some((u) => u?.nodePortRule !== undefined);
    b.nodePort(p, external(separate ? 'np' : 'ext', (u) => u.nodePortRule?.() ?? u.rule), used, dropUntranslated);
  }
  const chain = addresses.length ? external('ext', (u) => u.rule) : undefined;
  for (const address of addresses) b.frontend(address, p, chain, p.hasAnyEndpoints, owner, used, p.label, 'service', dropUntranslated);
  if (p.loadBalancerSourceRanges) for (const address of p.loadBalancerIPs) b.firewall(address, p, p.loadBalancerSourceRanges);
}

function renderExposure(b: FamilyBuilder, x: ExposureNat): void {
  const owner = `exposure ${x.address}:${x.port}/${x.protocol}`;
  const p = x.target;
  const balance = p && (x.preserveClientAddress ? b.balance('lo', p, p.localEndpoints) : b.balance('cl', p, p.clusterEndpoints));
  let target: string | undefined;
  if (p && balance) {
    const note = balance.shared ? '' : comment(p.label);
    const name = `${x.preserveClientAddress ? 'xl' : 'xm'}-${balance.shared ?? p.id}`;
    target = b.chain(name, [...(x.preserveClientAddress ? [] : [`jump ${CHAIN.markForMasquerade}`]), `${balance.rule}${note}`]);
  }
  b.frontend(x.address, x, target, p?.hasAnyEndpoints ?? false, owner, [balance], p?.label, 'exposure');
  if (x.sourceRanges) b.firewall(x.address, x, x.sourceRanges, 'exposure');
}

/**
 * Port contributions kept between renders, keyed by ServicePortNat object (resolvePlan
 * with a PlanMemo keeps them for unchanged Services). `env` is everything else a
 * contribution depends on; when it changes the memo starts over.
 */
export interface ServicesMemo {
  env: string;
  ports: WeakMap<ServicePortNat, { flags: number; contribution: PortContribution }>;
  /** The contributions the previous render replayed; undefined when it had exposures. */
  last: Set<PortContribution> | undefined;
  /** How many of `last` hold each unconditional element (set -> key -> count), once needed. */
  counts: Map<string, Map<string, number>> | undefined;
}

export const newServicesMemo = (): ServicesMemo => ({ env: '', ports: new WeakMap(), last: undefined, counts: undefined });

const claimId = (claim: Claim): string => `${claim.kind} ${claim.key}`;

function countElements(counts: Map<string, Map<string, number>>, c: PortContribution, delta: 1 | -1): void {
  for (const [set, elements] of c.objects.elements) {
    let keys = counts.get(set);
    if (!keys) counts.set(set, (keys = new Map()));
    for (const key of elements.keys()) {
      const n = (keys.get(key) ?? 0) + delta;
      if (n) keys.set(key, n);
      else keys.delete(key);
    }
  }
}

/**
 * The element keys that can differ between two renders: those of the contributions that
 * came or went, and those granted by any claim on a frontend key they claim (its winner
 * may have changed).
 */
function touchedKeys(previous: Set<PortContribution>, current: Set<PortContribution>): { touched: Map<string, Set<string>>; claimKeys: Set<string>; added: PortContribution[]; gone: PortContribution[] } {
  const touched = new Map<string, Set<string>>();
  const touch = (set: string, key: string): void => {
    let keys = touched.get(set);
    if (!keys) touched.set(set, (keys = new Set()));
    keys.add(key);
  };
  const added = [...current].filter((c) => !previous.has(c));
  const gone = [...previous].filter((c) => !current.has(c));
  const changed = [...added, ...gone];
  const claimKeys = new Set<string>();
  if (!changed.length) return { touched, claimKeys, added, gone };
  for (const c of changed) {
    for (const [set, elements] of c.objects.elements) for (const key of elements.keys()) touch(set, key);
    for (const claim of c.claims) claimKeys.add(claimId(claim));
  }
  for (const c of [...current, ...gone]) {
    for (const claim of c.claims) {
      if (claimKeys.has(claimId(claim))) for (const [set, key] of claim.elements) touch(set, key);
    }
  }
  return { touched, claimKeys, added, gone };
}

export function renderFamilyServices(plan: FamilyPlan, masqueradeAll: boolean, memo?: ServicesMemo): FamilyObjects {
  const b = new FamilyBuilder(plan);
  const preserved = new Set(plan.exposures.filter((x) => x.preserveClientAddress && x.target).map((x) => x.target?.id));
  const masqueraded = new Set(plan.exposures.filter((x) => !x.preserveClientAddress && x.target).map((x) => x.target?.id));
  if (memo) {
    // What renderServicePort reads besides the port: the family, node-port addresses, the
    // local-traffic match (short-circuit and masquerade rules) and masqueradeAll.
    const env = JSON.stringify([plan.family, plan.nodePortAddresses, localTrafficMatch(plan, false) ?? null, masqueradeAll]);
    if (memo.env !== env) { memo.env = env; memo.ports = new WeakMap(); memo.last = undefined; }
  }
  const replayed = new Set<PortContribution>();
  const contributions: PortContribution[] = [];
  for (const p of plan.services) {
    const preservedByExposure = preserved.has(p.id);
    const masqueradedByExposure = masqueraded.has(p.id);
    if (!memo) { renderServicePort(b, p, masqueradeAll, preservedByExposure, masqueradedByExposure); continue; }
    const flags = (preservedByExposure ? 1 : 0) | (masqueradedByExposure ? 2 : 0);
    let cached = memo.ports.get(p);
    if (cached?.flags !== flags) {
      const own = new FamilyBuilder(plan, true);
      renderServicePort(own, p, masqueradeAll, preservedByExposure, masqueradedByExposure);
      memo.ports.set(p, (cached = { flags, contribution: own.contribution }));
    }
    contributions.push(cached.contribution);
    replayed.add(cached.contribution);
  }
  if (!memo) return finish(b, plan);
  const previous = memo.last;
  memo.last = undefined; // until this render is complete
  if (!previous || plan.exposures.length) {
    for (const c of contributions) b.replay(c);
    memo.counts = undefined;
    memo.last = plan.exposures.length ? undefined : replayed;
    return finish(b, plan);
  }
  // Patch: only the elements that may have changed are produced, the rest is kept from
  // the previous render (nft-render merges them).
  const { touched, claimKeys, added, gone } = touchedKeys(previous, replayed);
  let counts = memo.counts;
  if (!counts) {
    counts = new Map();
    for (const c of replayed) countElements(counts, c, 1);
  } else {
    for (const c of added) countElements(counts, c, 1);
    for (const c of gone) countElements(counts, c, -1);
  }
  for (const c of contributions) b.replay(c, claimKeys);
  for (const [set, keys] of touched) {
    const held = counts.get(set);
    if (held) for (const key of keys) if (held.has(key) && !b.out.elements.get(set)?.has(key)) b.element(set, key);
  }
  b.out.touched = touched;
  b.out.partial = true;
  memo.counts = counts;
  memo.last = replayed;
  return b.out;
}

function finish(b: FamilyBuilder, plan: FamilyPlan): FamilyObjects {
  // Exposures are few and rendered afresh: balance() recomputed here adds only what the
  // replayed ports already hold (same elements, same named chains).
  for (const x of plan.exposures) renderExposure(b, x);
  return b.out;
}

export type { IpFamily };
