/**
 * What differs between two states of the tables, object by object: the input of the
 * incremental script (nft-sync.ts). The element store builds it from its journal in time
 * proportional to the change; diffTables builds the same from two whole states (tests,
 * and callers holding two rulesets).
 */
import type { ChainState, IPFamily, NftSet, TableState } from './model.js';
import { FAMILIES } from './model.js';

/** An object before and after; null where it does not exist. */
export interface Change<T> { before: T | null; after: T | null }

export interface FamilyDelta {
  chains: Map<string, Change<ChainState>>;
  sets: Map<string, Change<NftSet>>;
  /** Set name -> element key -> value ('' in plain sets). */
  elements: Map<string, Map<string, Change<string>>>;
}

export type RulesetDelta = Record<IPFamily, FamilyDelta>;

export const emptyDelta = (): RulesetDelta => ({
  IPv4: { chains: new Map(), sets: new Map(), elements: new Map() },
  IPv6: { chains: new Map(), sets: new Map(), elements: new Map() },
});

export const sameChain = (a: ChainState, b: ChainState): boolean =>
  a.rules.length === b.rules.length && a.rules.every((r, i) => r === b.rules[i]) && JSON.stringify(a.base) === JSON.stringify(b.base);
export const sameSet = (a: NftSet, b: NftSet): boolean => JSON.stringify(a) === JSON.stringify(b);

export function diffTables(before: Record<IPFamily, TableState>, after: Record<IPFamily, TableState>): RulesetDelta {
  const delta = emptyDelta();
  for (const family of FAMILIES) {
    const [old, now, out] = [before[family], after[family], delta[family]];
    for (const name of new Set([...old.chains.keys(), ...now.chains.keys()])) {
      const [a, b] = [old.chains.get(name) ?? null, now.chains.get(name) ?? null];
      if (!a || !b || !sameChain(a, b)) out.chains.set(name, { before: a, after: b });
    }
    for (const name of new Set([...old.sets.keys(), ...now.sets.keys()])) {
      const [a, b] = [old.sets.get(name), now.sets.get(name)];
      if (!a || !b || !sameSet(a.definition, b.definition)) out.sets.set(name, { before: a?.definition ?? null, after: b?.definition ?? null });
      const elements = new Map<string, Change<string>>();
      for (const key of new Set([...a?.elements.keys() ?? [], ...b?.elements.keys() ?? []])) {
        const [x, y] = [a?.elements.get(key) ?? null, b?.elements.get(key) ?? null];
        if (x !== y) elements.set(key, { before: x, after: y });
      }
      if (elements.size) out.elements.set(name, elements);
    }
  }
  return delta;
}
