/**
 * The element store (the idea of kube-proxy's nftElementStorage and kpng's diffstore,
 * written for natplan): the desired ruleset kept in memory as the sum of per-Service
 * fragments, each object with its owners. A sync re-renders only the Services whose
 * input changed (by object identity: the agent hands over the same entry objects until
 * a plan's resourceVersion changes), so the cost of one change does not depend on how
 * many Services exist.
 *
 * - Chains shared by several Services and elements several Services add (hairpin,
 *   cluster IPs, firewall entries) are reference-counted: present while someone needs them.
 * - Frontend keys are claims, first wins (Services in key order, then exposures in
 *   node-plan order); losers are reported. Adding or removing a claimant re-decides
 *   only that key, so the result is exactly what a fresh render gives.
 * - The tables journal what changed since the last commit (store-tables.ts): the
 *   incremental script, the stale UDP flows and, for a full sync, the objects to delete.
 * A node-plan change, a renderer failure or the start force a full sync (`needsFull`).
 */
import type { StaleUdpFlow } from './stale-udp.js';
import type { ChainState, IPFamily, NftSet, TableState } from './model.js';
import { FAMILIES } from './model.js';
import { groupKey, resolveNode } from './node-context.js';
import { renderServiceFragment } from './nft-services.js';
import { SET, skeletonChains } from './nft-skeleton.js';
import { assemblePlan } from './plan.js';
import type { NatPlan, NodeContext, RenderInput, ServiceEntries } from './resolved-plan.js';
import type { ServicePlan } from './service-plan.js';
import { StoreTables } from './store-tables.js';
import { StoreLedger, type StoredFragment } from './store-ledger.js';

export interface RulesetCounts { services: number; endpoints: number; exposures: number }

/** What one update produced; valid until the next update of the same store. */
export interface StoreState {
  readonly version: number;
  /** The change since the last commit is not known element by element: commit it whole. */
  readonly needsFull: boolean;
  readonly problems: readonly string[];
  readonly counts: RulesetCounts;
  readonly digest: string;
}

/** A Service's input and what it rendered; its resolved plan only when the store keeps plans. */
interface Unit { entries: ServiceEntries; fragment: StoredFragment; plan?: ServicePlan }

export interface RulesetStoreOptions {
  /**
   * Keep each Service's resolved plan for `plan()` (the iptables renderer reads it). The
   * nftables backend renders from the fragments alone, and the plans would be about an
   * eighth of the store at 10k Services.
   */
  keepPlans?: boolean;
}

export class RulesetStore {
  readonly keepsPlans: boolean;
  private tables = new StoreTables();
  private ledger = new StoreLedger(this.tables);
  private context: NodeContext | undefined;
  private units = new Map<string, Unit>();
  /** The previous input's entries and their unit keys, to find changed entries by position. */
  private lastEntries: ServiceEntries = [];
  private keys = new WeakMap<object, string>();
  private nodeChains: Record<IPFamily, ChainState[]> = { IPv4: [], IPv6: [] };
  private nodeElements: [IPFamily, string, string][] = [];
  private active: Record<IPFamily, boolean | undefined> = { IPv4: undefined, IPv6: undefined };
  private fullDue = true;
  private version = 0;
  private problems: string[] | undefined;
  /** The unit keys in order, while no unit comes or goes. */
  private sortedKeys: string[] | undefined;

  constructor(options: RulesetStoreOptions = {}) {
    this.keepsPlans = options.keepPlans ?? false;
  }

  /** Brings the desired state to `input`; throws only on a renderer bug (then the store starts over). */
  update(input: RenderInput): StoreState {
    this.version++;
    try {
      return this.apply(input);
    } catch (error) {
      this.reset();
      this.context = undefined;
      throw error;
    }
  }

  private apply(input: RenderInput): StoreState {
    const context = resolveNode(input);
    let changed: Map<string, ServiceEntries | undefined>;
    if (!this.context || this.context.key !== context.key) {
      if (this.context) this.reset();
      this.context = context;
      this.problems = undefined;
      for (const [family, set, key] of (this.nodeElements = nodeElements(context))) this.ledger.refElement(family, set, key, '', 1);
      changed = this.allUnits(input.services);
    } else changed = this.changedUnits(input.services);
    this.lastEntries = input.services;
    for (const [key, entries] of changed) this.replace(key, entries);
    for (const family of FAMILIES) this.updateSkeleton(family);
    return {
      version: this.version, needsFull: this.fullDue, problems: this.problemList(), digest: this.tables.digestValue(),
      counts: { services: this.ledger.services, endpoints: this.ledger.endpointCount, exposures: this.ledger.exposures },
    };
  }

  private keyOf(entry: ServiceEntries[number]): string {
    let key = this.keys.get(entry);
    if (key === undefined) this.keys.set(entry, (key = groupKey(entry.namespace, entry.spec.service.name)));
    return key;
  }

  /** Every unit: the Services of the input and the Services exposures target. */
  private allUnits(services: ServiceEntries): Map<string, ServiceEntries | undefined> {
    const groups = new Map<string, ServiceEntries | undefined>();
    for (const entry of services) {
      const key = this.keyOf(entry);
      const group = groups.get(key);
      if (group) group.push(entry);
      else groups.set(key, [entry]);
    }
    for (const key of this.context?.exposuresByService.keys() ?? []) if (!groups.has(key)) groups.set(key, []);
    for (const key of this.units.keys()) if (!groups.has(key)) groups.set(key, undefined);
    return groups;
  }

  /**
   * The units whose entries differ from the last update's. When the input lists the
   * same Services in the same order (an informer update replaces one object), only the
   * positions holding another object are looked at; otherwise every unit is compared.
   */
  private changedUnits(services: ServiceEntries): Map<string, ServiceEntries | undefined> {
    const last = this.lastEntries;
    const changed = new Map<string, ServiceEntries | undefined>();
    if (services.length === last.length) {
      let sameKeys = true;
      for (let i = 0; i < services.length && sameKeys; i++) {
        const [now, before] = [services[i] as ServiceEntries[number], last[i] as ServiceEntries[number]];
        if (now === before) continue;
        const key = this.keyOf(now);
        const entries = changed.get(key) ?? [...this.units.get(key)?.entries ?? []];
        const at = entries.indexOf(before);
        sameKeys = key === this.keyOf(before) && at >= 0;
        entries[at] = now;
        changed.set(key, entries);
      }
      if (sameKeys) return changed;
    }
    changed.clear();
    for (const [key, entries] of this.allUnits(services)) {
      const unit = this.units.get(key);
      if (entries === undefined || !unit || !sameEntries(unit.entries, entries)) changed.set(key, entries);
    }
    return changed;
  }

  private replace(key: string, entries: ServiceEntries | undefined): void {
    const context = this.context as NodeContext;
    const old = this.units.get(key);
    if (entries && old && sameEntries(old.entries, entries)) return;
    const fragment = entries ? renderServiceFragment(context, key, entries) : undefined;
    if (old) this.ledger.remove(old.fragment);
    if (old?.fragment.problems.length || fragment?.problems.length) this.problems = undefined;
    if (!old !== !fragment) this.sortedKeys = undefined;
    if (fragment && entries) {
      this.ledger.add(fragment);
      const { plan, ...kept } = fragment;
      this.units.set(key, { entries, fragment: this.ledger.sharedChains(kept), ...(this.keepsPlans ? { plan } : {}) });
    } else this.units.delete(key);
    if (this.ledger.conflictsChanged) this.problems = undefined;
  }

  /** The hooks and helper chains follow whether the family has anything to enforce. */
  private updateSkeleton(family: IPFamily): void {
    const context = this.context as NodeContext;
    const base = context.families[family];
    const active = this.ledger.ports[family] > 0 || context.exposures.some((x) => x.family === family) || base.serviceCIDRs.length > 0;
    if (active === this.active[family]) return;
    this.active[family] = active;
    const chains = skeletonChains({ ...base, active }, context.masqueradeMark);
    for (const chain of chains) this.ledger.refChain(family, chain, 1);
    for (const chain of this.nodeChains[family]) this.ledger.refChain(family, chain, -1);
    this.nodeChains[family] = chains;
  }

  /** Forgets everything but the journal of chains and sets: the next commit is full. */
  private reset(): void {
    this.ledger.captureUdp();
    this.tables.clear();
    this.ledger = new StoreLedger(this.tables, this.ledger);
    this.units.clear();
    this.sortedKeys = undefined;
    this.lastEntries = [];
    this.nodeChains = { IPv4: [], IPv6: [] };
    this.active = { IPv4: undefined, IPv6: undefined };
    this.fullDue = true;
  }

  private problemList(): string[] {
    if (this.problems) return this.problems;
    const keys = [...this.units.keys()].filter((key) => this.units.get(key)?.fragment.problems.length).sort();
    this.problems = [
      ...this.context?.problems ?? [],
      ...keys.flatMap((key) => this.units.get(key)?.fragment.problems ?? []),
      ...this.ledger.conflictProblems(),
    ];
    return this.problems;
  }

  /**
   * The whole backend-neutral plan of the last update, assembled from the Services'
   * plans kept in the fragments (none is resolved again): what the iptables renderer reads.
   */
  plan(): NatPlan {
    if (!this.keepsPlans) throw new Error('natplan renderer bug: plan() of a store that keeps no plans');
    this.sortedKeys ??= [...this.units.keys()].sort();
    return assemblePlan(this.context as NodeContext, this.sortedKeys.map((key) => (this.units.get(key) as Unit).plan as ServicePlan));
  }

  /** Whether `state` is still what the store holds (no update since). */
  current(state: StoreState): boolean {
    return state.version === this.version;
  }

  /** The desired tables in canonical order (a copy). */
  snapshot(): Record<IPFamily, TableState> {
    return this.tables.snapshot();
  }

  /** The live tables (read-only for callers): what the store holds now. */
  get live(): Record<IPFamily, TableState> {
    return this.tables.tables;
  }

  /** What changed since the last commit; only meaningful when no full sync is due. */
  delta(): ReturnType<StoreTables['delta']> {
    return this.tables.delta();
  }

  udp(): ReturnType<StoreLedger['udpFacts']> {
    return this.ledger.udpFacts();
  }

  /** UDP flows made stale since the last commit (see stale-udp.ts). */
  staleUdp(): StaleUdpFlow[] {
    return this.ledger.staleUdp();
  }

  /** Chains and Service sets present at the last commit and not desired now. */
  leftovers(): Record<IPFamily, { chains: string[]; sets: NftSet[] }> {
    const delta = this.tables.delta();
    const of = (family: IPFamily) => ({
      chains: [...delta[family].chains].filter(([, c]) => c.before && !c.after).map(([name]) => name),
      sets: [...delta[family].sets.values()].flatMap((c) => (c.before && !c.after ? [c.before] : [])),
    });
    return { IPv4: of('IPv4'), IPv6: of('IPv6') };
  }

  /** The state of the last update is in the kernel. */
  committed(): void {
    this.tables.committed();
    this.ledger.committed();
    this.fullDue = false;
  }
}

const sameEntries = (a: ServiceEntries, b: ServiceEntries): boolean =>
  a.length === b.length && a.every((e, i) => { const o = b[i]; return o !== undefined && (e === o || (e.spec === o.spec && e.name === o.name && e.namespace === o.namespace)); });

/** The node's own elements in the static sets. */
function nodeElements(context: NodeContext): [IPFamily, string, string][] {
  return FAMILIES.flatMap((family): [IPFamily, string, string][] => {
    const f = context.families[family];
    return [
      ...(f.localTraffic.kind === 'cidrs' ? f.localTraffic.cidrs : []).map((c): [IPFamily, string, string] => [family, SET.localCidrs, c]),
      ...(Array.isArray(f.nodePortAddresses) ? f.nodePortAddresses : []).map((a): [IPFamily, string, string] => [family, SET.nodePortIps, a]),
      ...f.serviceCIDRs.map((c): [IPFamily, string, string] => [family, SET.serviceCidrs, c]),
    ];
  });
}

