/**
 * FamilyBuilder: what one Service (its ports, and the exposures that target it) adds to
 * one family's objects, recorded without looking at any other Service. Frontend keys are
 * recorded as claims: which claimant wins a key depends on the other Services, so the
 * element store decides (first in Service order wins, then exposures in node-plan order).
 */
import { formatHostPort } from '@natplan/netaddr';
import { fnv1a64Hex } from '@natplan/controller-kit/hash';
import type { ChainState, NftSet } from './model.js';
import { nftFamily } from './model.js';
import type { Backend, L4Protocol, NodeContext, ServicePortNat } from './resolved-plan.js';
import type { IPFamily } from './model.js';
import { CHAIN, SET, addressType, nodePortMatch, slotKey, slotMapName } from './nft-skeleton.js';

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

/** What a family's Service renders read from the node. */
export type FamilyContext = NodeContext['families'][IPFamily];

/** The UDP frontends (`address|port`) whose traffic a Service port DNATs to its endpoints. */
function udpFrontendsOf(p: ServicePortNat, plan: FamilyContext): string[] {
  const out = [...(p.clusterIP ? [p.clusterIP] : []), ...p.externalIPs, ...p.loadBalancerIPs].map((a) => `${a}|${p.port}`);
  if (p.nodePort !== undefined && Array.isArray(plan.nodePortAddresses)) for (const a of plan.nodePortAddresses) out.push(`${a}|${p.nodePort}`);
  return out;
}

/**
 * Where a claim stands in the first-wins order: Services' ports first (phase 0, by Service
 * key, then in render order), then exposures (phase 1, by NodeNatPlan position).
 */
export interface ClaimRank { phase: 0 | 1; unit: string; index: number; seq: number }

export function compareRanks(a: ClaimRank, b: ClaimRank): number {
  return a.phase - b.phase || (a.unit < b.unit ? -1 : a.unit > b.unit ? 1 : 0) || a.index - b.index || a.seq - b.seq;
}

/** A frontend key asked for, with the elements and UDP facts it adds when granted. */
export interface Claim {
  kind: 'ip' | 'nodePort';
  key: string;
  owner: string;
  rank: ClaimRank;
  /** Granted elements as flat triples: set, key, value ('' in sets). Flat: 220k tuples at 10k Services cost the GC dearly. */
  elements: string[];
  udpFrontends: [key: string, hasEndpoints: boolean][];
}

/**
 * One Service's objects in one family. Read-only once built: the store keeps one per
 * Service and family until the Service changes, so empty parts are shared (`settled`).
 */
export interface FamilyFragment {
  /** Chains it needs; shared chains (named after what they hold) are listed by each user. */
  readonly chains: readonly ChainState[];
  /** Affinity sets (dynamic, one per endpoint of a ClientIP Service port). */
  readonly sets: readonly NftSet[];
  /** Elements it adds whatever the claims, as flat triples like Claim.elements, possibly repeated: the store counts them. */
  readonly elements: readonly string[];
  readonly claims: readonly Claim[];
  /** UDP facts (see UdpFacts) that do not depend on claims. */
  readonly udpEndpoints: ReadonlySet<string>;
  readonly udpPaths: ReadonlySet<string>;
  /** Service ports of this family: a family with none (and no exposure or Service CIDR) hooks no packets. */
  readonly ports: number;
}

/** A FamilyFragment while its builder fills it. */
interface FamilyDraft {
  chains: ChainState[];
  sets: NftSet[];
  elements: string[];
  claims: Claim[];
  udpEndpoints: Set<string>;
  udpPaths: Set<string>;
  ports: number;
}

const NO_ITEMS: readonly never[] = Object.freeze([]);
const NO_KEYS: ReadonlySet<string> = new Set<string>();

/**
 * `fragment` with its empty arrays and sets replaced by shared empty ones: most Services
 * have no UDP facts, no affinity sets and nothing in the family they do not use, and the
 * store holds every Service's fragments (at 10k Services the empties alone were several
 * MiB: `npm run bench:agent-memory`).
 */
export function settled(fragment: FamilyDraft): FamilyFragment {
  return {
    chains: fragment.chains.length ? fragment.chains : NO_ITEMS,
    sets: fragment.sets.length ? fragment.sets : NO_ITEMS,
    elements: fragment.elements.length ? fragment.elements : NO_ITEMS,
    claims: fragment.claims.length ? fragment.claims : NO_ITEMS,
    udpEndpoints: fragment.udpEndpoints.size ? fragment.udpEndpoints : NO_KEYS,
    udpPaths: fragment.udpPaths.size ? fragment.udpPaths : NO_KEYS,
    ports: fragment.ports,
  };
}

/** Who a frontend belongs to: a Service (any destination) or an exposure (local destinations only). */
type FrontendKind = 'service' | 'exposure';
const FRONTEND_MAPS: Record<FrontendKind, { verdicts: string; noEndpoints: string; firewall: string; firewallAllow: string }> = {
  service: { verdicts: SET.serviceIps, noEndpoints: SET.noEndpointServices, firewall: SET.firewallIps, firewallAllow: SET.firewallAllow },
  exposure: { verdicts: SET.exposureIps, noEndpoints: SET.noEndpointExposures, firewall: SET.exposureFirewallIps, firewallAllow: SET.exposureFirewallAllow },
};

/** nft refuses comments over 128 characters; a longer label (DNS labels allow 143) is left out. */
export const comment = (label: string | undefined): string => (label && label.length <= 128 ? ` comment "${label}"` : '');

export class FamilyBuilder {
  readonly out: FamilyDraft = { chains: [], sets: [], elements: [], claims: [], udpEndpoints: new Set(), udpPaths: new Set(), ports: 0 };
  /** The claim whose granted elements are being recorded. */
  private capture: Claim | undefined;
  private readonly chainNames = new Set<string>();
  /** `cl-<id>`/`lo-<id>` -> how new connections are spread over that endpoint list. */
  private readonly balanced = new Map<string, Balance>();
  /** The rank the next claim gets (phase and index are set by the caller). */
  rank: Omit<ClaimRank, 'seq'>;

  constructor(readonly plan: FamilyContext, unit: string) {
    this.rank = { phase: 0, unit, index: 0 };
  }

  element(set: string, key: string, value = ''): void {
    (this.capture ?? this.out).elements.push(set, key, value);
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
    this.capture?.udpFrontends.push([key, hasEndpoints]);
  }

  /** Records a claim on `key` and, as its grant, what `grant` adds. */
  private claim(kind: Claim['kind'], key: string, owner: string, grant: () => void): void {
    const claim: Claim = { kind, key, owner, rank: { ...this.rank, seq: this.out.claims.length }, elements: [], udpFrontends: [] };
    this.out.claims.push(claim);
    this.capture = claim;
    try { grant(); } finally { this.capture = undefined; }
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
      this.out.udpEndpoints.add(`${backend.address}|${backend.port}`);
      for (const f of udpFrontendsOf(p, this.plan)) this.out.udpPaths.add(`${f}|${backend.address}|${backend.port}`);
    }
  }

  /** Records a programmed endpoint and returns its `dnat` statement. */
  private dnat(p: ServicePortNat, backend: Backend): string {
    this.record(p, backend);
    return `meta l4proto ${p.protocol} dnat to ${formatHostPort(backend.address, backend.port)}`;
  }

  /** With ClientIP affinity: an endpoint chain that remembers the client, and its set. */
  private affinityEndpoint(p: ServicePortNat, backend: Backend, timeoutSeconds: number): { chain: string; set: string } {
    const hash = fnv1a64Hex(`${p.id}|${backend.address}|${backend.port}`);
    const { family } = this.plan;
    const set = `aff-${hash}`;
    const chain = `ep-${hash}`;
    if (!this.chainNames.has(chain)) {
      this.out.sets.push({ kind: 'set', family, name: set, type: addressType(family), flags: ['dynamic', 'timeout'], timeoutSeconds });
      this.chain(chain, [`update @${set} { ${nftFamily(family)} saddr }`, this.dnat(p, backend)]);
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
        const key = slotKey(this.plan.family, kind, p.protocol);
        const ipx = nftFamily(this.plan.family);
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
    const ipx = nftFamily(this.plan.family);
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
export const LOCAL_SLOTS = 0x1000000;

