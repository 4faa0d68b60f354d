/**
 * The element store's tables: the desired state of both families as mutable maps, with a
 * journal of every object's value at the last commit (first touch wins), so the change
 * since that commit is known without comparing whole rulesets, and a running digest.
 * Element journalling is switched off while a full sync is due anyway (it would only
 * cost memory at a cold start); chains and sets are always journalled, so a full sync
 * still knows which objects it must delete.
 */
import type { ChainState, IPFamily, NftSet, SetState, TableState } from './model.js';
import { FAMILIES } from './model.js';
import { skeletonChains, skeletonSets } from './nft-skeleton.js';
import type { Change, RulesetDelta } from './ruleset-delta.js';
import { emptyDelta, sameChain, sameSet } from './ruleset-delta.js';
import { DigestSum, chainParts, setParts } from './ruleset-digest.js';

type Journal<T> = Record<IPFamily, Map<string, T | null>>;
const journal = <T>(): Journal<T> => ({ IPv4: new Map(), IPv6: new Map() });

/** The static chains in skeleton order, and the static sets: snapshots list them first. */
const STATIC_CHAINS = skeletonChains({ family: 'IPv4', active: true, localTraffic: { kind: 'none' }, nodePortAddresses: 'all-local' }, 1).map((c) => c.name);
const staticSets = (family: IPFamily): SetState[] =>
  skeletonSets({ family, localTraffic: { kind: 'none' }, nodePortAddresses: 'all-local', serviceCIDRs: [], clusterIPs: [] });
export const STATIC_SET_NAMES: readonly string[] = staticSets('IPv4').map((s) => s.definition.name);

const byText = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

export class StoreTables {
  readonly tables: Record<IPFamily, TableState>;
  private digest = new DigestSum();
  private chains = journal<ChainState>();
  private sets = journal<NftSet>();
  /** family -> set -> key -> value at the last commit. */
  private elements: Record<IPFamily, Map<string, Map<string, string | null>>> = { IPv4: new Map(), IPv6: new Map() };
  journalElements = false;

  constructor() {
    this.tables = { IPv4: this.emptyTable('IPv4'), IPv6: this.emptyTable('IPv6') };
  }

  private emptyTable(family: IPFamily): TableState {
    const sets = new Map<string, SetState>();
    for (const set of staticSets(family)) { sets.set(set.definition.name, set); this.digest.add(setParts(set.definition)); }
    return { family, chains: new Map(), sets };
  }

  setElement(family: IPFamily, set: string, key: string, value: string): void {
    const elements = this.tables[family].sets.get(set)?.elements;
    if (!elements) throw new Error(`natplan renderer bug: no set ${set}`);
    const old = elements.get(key);
    if (old === value) return;
    this.touchElement(family, set, key, old);
    if (old !== undefined) this.digest.element(family, set, key, old, -1);
    elements.set(key, value);
    this.digest.element(family, set, key, value, 1);
  }

  deleteElement(family: IPFamily, set: string, key: string): void {
    const elements = this.tables[family].sets.get(set)?.elements;
    const old = elements?.get(key);
    if (old === undefined || !elements) return;
    this.touchElement(family, set, key, old);
    elements.delete(key);
    this.digest.element(family, set, key, old, -1);
  }

  private touchElement(family: IPFamily, set: string, key: string, old: string | undefined): void {
    if (!this.journalElements) return;
    let keys = this.elements[family].get(set);
    if (!keys) this.elements[family].set(set, (keys = new Map()));
    if (!keys.has(key)) keys.set(key, old ?? null);
  }

  setChain(family: IPFamily, chain: ChainState): void {
    const chains = this.tables[family].chains;
    const old = chains.get(chain.name);
    if (old && sameChain(old, chain)) return;
    if (!this.chains[family].has(chain.name)) this.chains[family].set(chain.name, old ?? null);
    if (old) this.digest.remove(chainParts(family, old));
    chains.set(chain.name, chain);
    this.digest.add(chainParts(family, chain));
  }

  deleteChain(family: IPFamily, name: string): void {
    const old = this.tables[family].chains.get(name);
    if (!old) return;
    if (!this.chains[family].has(name)) this.chains[family].set(name, old);
    this.tables[family].chains.delete(name);
    this.digest.remove(chainParts(family, old));
  }

  /** Adds or redefines a set of the Services' own (an affinity set; it holds no elements). */
  setSet(family: IPFamily, definition: NftSet): void {
    const sets = this.tables[family].sets;
    const old = sets.get(definition.name);
    if (old && sameSet(old.definition, definition)) return;
    if (!this.sets[family].has(definition.name)) this.sets[family].set(definition.name, old?.definition ?? null);
    if (old) this.digest.remove(setParts(old.definition));
    sets.set(definition.name, { definition, elements: old?.elements ?? new Map() });
    this.digest.add(setParts(definition));
  }

  deleteSet(family: IPFamily, name: string): void {
    const old = this.tables[family].sets.get(name);
    if (!old) return;
    if (!this.sets[family].has(name)) this.sets[family].set(name, old.definition);
    for (const [key, value] of old.elements) this.digest.element(family, name, key, value, -1);
    this.tables[family].sets.delete(name);
    this.digest.remove(setParts(old.definition));
  }

  /** Removes every chain, Service set and element (journalled as chains and sets only). */
  clear(): void {
    this.journalElements = false;
    for (const family of FAMILIES) {
      this.elements[family].clear();
      for (const name of [...this.tables[family].chains.keys()]) this.deleteChain(family, name);
      for (const [name, set] of [...this.tables[family].sets]) {
        if (STATIC_SET_NAMES.includes(name)) for (const key of [...set.elements.keys()]) this.deleteElement(family, name, key);
        else this.deleteSet(family, name);
      }
    }
  }

  /** The state is now in the kernel: the journal starts over. */
  committed(): void {
    for (const family of FAMILIES) { this.chains[family].clear(); this.sets[family].clear(); this.elements[family].clear(); }
    this.journalElements = true;
  }

  /** What changed since the last commit (elements only while journalled). */
  delta(): RulesetDelta {
    const delta = emptyDelta();
    for (const family of FAMILIES) {
      const table = this.tables[family];
      for (const [name, before] of this.chains[family]) {
        const after = table.chains.get(name) ?? null;
        if ((before || after) && (!before || !after || !sameChain(before, after))) delta[family].chains.set(name, { before, after });
      }
      for (const [name, before] of this.sets[family]) {
        const after = table.sets.get(name)?.definition ?? null;
        if ((before || after) && (!before || !after || !sameSet(before, after))) delta[family].sets.set(name, { before, after });
      }
      for (const [set, keys] of this.elements[family]) {
        const current = table.sets.get(set)?.elements;
        const changes = new Map<string, Change<string>>();
        for (const [key, before] of keys) {
          const after = current?.get(key) ?? null;
          if (before !== after) changes.set(key, { before, after });
        }
        if (changes.size) delta[family].elements.set(set, changes);
      }
    }
    return delta;
  }

  digestValue(): string {
    return this.digest.value();
  }

  /** A copy in canonical order (static chains and sets first, the rest and all elements by name). */
  snapshot(): Record<IPFamily, TableState> {
    const out = {} as Record<IPFamily, TableState>;
    for (const family of FAMILIES) {
      const table = this.tables[family];
      const chains = new Map<string, ChainState>();
      for (const name of STATIC_CHAINS) { const c = table.chains.get(name); if (c) chains.set(name, c); }
      for (const name of [...table.chains.keys()].filter((n) => !chains.has(n)).sort(byText)) chains.set(name, table.chains.get(name) as ChainState);
      const sets = new Map<string, SetState>();
      const names = [...STATIC_SET_NAMES, ...[...table.sets.keys()].filter((n) => !STATIC_SET_NAMES.includes(n)).sort(byText)];
      for (const name of names) {
        const set = table.sets.get(name);
        if (!set) continue;
        const elements = new Map<string, string>();
        for (const key of [...set.elements.keys()].sort()) elements.set(key, set.elements.get(key) as string);
        sets.set(name, { definition: set.definition, elements });
      }
      out[family] = { family, chains, sets };
    }
    return out;
  }
}
