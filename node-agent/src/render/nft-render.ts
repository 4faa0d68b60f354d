/**
 * renderNftables: the desired state of both natplan tables as plain data, rendered
 * afresh (an element store of its own, filled once). Scripts are derived from it in
 * nft-sync.ts; the tests' tracer reads it in testing/nft-trace.ts. The applier keeps one
 * element store across syncs instead (element-store.ts); both give the same ruleset.
 */
import type { IPFamily, TableState } from './model.js';
import type { RulesetCounts, StoreState } from './element-store.js';
import { RulesetStore } from './element-store.js';
import type { RenderInput } from './resolved-plan.js';
import type { UdpFacts } from './fragment-builder.js';

export type { RulesetCounts } from './element-store.js';
export type { UdpFacts } from './fragment-builder.js';

/** The complete desired nftables state. Treat as immutable. */
export interface NftRuleset {
  tables: Record<IPFamily, TableState>;
  /**
   * Parts of the input that were invalid or conflicting and were left out, one sentence
   * each. The rest is rendered; a non-empty list is worth a `Degraded`-style report.
   */
  problems: string[];
  counts: RulesetCounts;
  /** Facts for stale-UDP-conntrack cleanup (see stale-udp.ts). */
  udp: UdpFacts;
}

/** The ruleset a store holds after the update that returned `state` (a copy, in canonical order). */
export function storeRuleset(store: RulesetStore, state: StoreState): NftRuleset {
  if (!store.current(state)) throw new Error('natplan: the element store has moved on since this state');
  return { tables: store.snapshot(), problems: [...state.problems], counts: { ...state.counts }, udp: store.udp() };
}

export function renderNftables(input: RenderInput): NftRuleset {
  const store = new RulesetStore();
  return storeRuleset(store, store.update(input));
}

export function rulesetCounts(ruleset: NftRuleset): RulesetCounts {
  return { ...ruleset.counts };
}
