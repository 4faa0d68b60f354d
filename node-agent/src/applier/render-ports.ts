import {
  IPTABLES_STATIC_CHAINS, RulesetStore, iptablesCleanupScripts, iptablesHookJumps, nftCleanupScript, nftColdStartScripts, nftDeltaScript,
  nftFullSyncScript, nftFullSyncScriptWith, nftIncrementalScript, renderIptablesChains, renderNftables, rulesetCounts, rulesetDigest, staleUdpEndpoints,
} from '../render/index.js';
import type { NftRuleset, RenderInput, RulesetStoreOptions, StoreState } from '../render/index.js';
import type { IPFamily, TableState } from '../render/model.js';
import { FAMILIES, TABLE_NAME, nftFamily } from '../render/model.js';
import { CHAIN, SET } from '../render/nft-skeleton.js';
import type { IptablesChains, IptablesPort, NftScriptPort, NftSkeleton, PerFamily } from './types.js';

type Tables = Record<IPFamily, TableState>;

/** Set elements and rules: what a transaction has to carry, for the cold-start split. */
export function tablesSize(tables: Tables): number {
  let size = 0;
  for (const table of Object.values(tables)) {
    for (const set of table.sets.values()) size += set.elements.size;
    for (const chain of table.chains.values()) size += chain.rules.length;
  }
  return size;
}
export const rulesetSize = (ruleset: NftRuleset): number => tablesSize(ruleset.tables);

const STATIC_CHAINS: ReadonlySet<string> = new Set(Object.values(CHAIN));
const STATIC_SETS: ReadonlySet<string> = new Set(Object.values(SET));

/**
 * The skeleton's chains (hooks and helpers, the same whatever the Services) and the first
 * element of each static set or map: what the kernel check reads back. Slot maps are
 * named `frontend-slots-tcp` etc. and count as static too.
 */
export function tablesSkeleton(tables: Tables): NftSkeleton {
  const chains: NftSkeleton['chains'][number][] = [];
  const elements: NftSkeleton['elements'][number][] = [];
  for (const family of FAMILIES) {
    const table = `${nftFamily(family)} ${TABLE_NAME}`;
    for (const chain of tables[family].chains.values()) {
      if (STATIC_CHAINS.has(chain.name)) chains.push({ table, chain: chain.name, rules: [...chain.rules] });
    }
    for (const set of tables[family].sets.values()) {
      const name = set.definition.name;
      const isStatic = STATIC_SETS.has(name) || name.startsWith(`${SET.frontendSlots}-`) || name.startsWith(`${SET.nodePortSlots}-`);
      if (!isStatic || set.definition.flags?.includes('dynamic')) continue;
      const first = set.elements.keys().next();
      if (!first.done) elements.push({ table, set: name, key: first.value });
    }
  }
  return { chains, elements };
}
export const rulesetSkeleton = (ruleset: NftRuleset): NftSkeleton => tablesSkeleton(ruleset.tables);

/** A stateless port: every sync renders everything and compares whole rulesets (tests, tools). */
export const nftablesPort: NftScriptPort<RenderInput, NftRuleset> & { size(ruleset: NftRuleset): number } = {
  tables: ['ip natplan', 'ip6 natplan'],
  render: renderNftables,
  size: rulesetSize,
  fullSyncScript: nftFullSyncScript,
  incrementalScript: nftIncrementalScript,
  coldStartScripts: nftColdStartScripts,
  cleanupScript: nftCleanupScript,
  skeleton: rulesetSkeleton,
  staleUdpEndpoints,
  digest: rulesetDigest,
  counts: (ruleset) => ({ ...rulesetCounts(ruleset) }),
};

/**
 * What the store port hands the applier for one sync: the store's state after the
 * update, and what the kernel check needs of it, taken while it is current.
 */
export interface StoreRender {
  readonly store: RulesetStore;
  readonly state: StoreState;
  readonly skeleton: NftSkeleton;
}

/**
 * The port the agent uses: one element store per applier (element-store.ts). A sync
 * re-renders only the Services whose plans changed and sends the store's journal since
 * the last commit; a full sync writes the store's whole state and deletes its leftovers.
 */
export function storeNftablesPort(options: RulesetStoreOptions = {}): NftScriptPort<RenderInput, StoreRender> & { size(r: StoreRender): number } {
  const store = new RulesetStore(options);
  const current = (r: StoreRender): RulesetStore => {
    if (!r.store.current(r.state)) throw new Error('natplan: a sync used a store state that is no longer current');
    return r.store;
  };
  // From the live tables, in no particular order: one transaction applies whole, so
  // order does not matter, and skipping the canonical copy saves a sort of every element.
  const fullSyncScript = (r: StoreRender): string => { const s = current(r); return nftFullSyncScriptWith(s.live, s.leftovers()); };
  return {
    tables: nftablesPort.tables,
    render: (input) => { const state = store.update(input); return { store, state, skeleton: tablesSkeleton(store.live) }; },
    needsFullSync: (r) => r.state.needsFull,
    committed: (r) => { current(r).committed(); },
    size: (r) => tablesSize(current(r).live),
    fullSyncScript,
    incrementalScript: (_committed, r) => {
      const s = current(r);
      const result = nftDeltaScript(s.live, s.delta());
      return 'full' in result ? fullSyncScript(r) : result.script;
    },
    coldStartScripts: (r, max) => nftColdStartScripts({ tables: current(r).live }, max),
    cleanupScript: nftCleanupScript,
    skeleton: (r) => r.skeleton,
    staleUdpEndpoints: (_committed, r) => current(r).staleUdp(),
    digest: (r) => r.state.digest,
    counts: (r) => ({ ...r.state.counts }),
  };
}

const mutable = (chains: PerFamily<readonly string[]>) => ({ IPv4: [...chains.IPv4], IPv6: [...chains.IPv6] });

/** What the iptables port hands the applier for one sync: the element store's state and the chains. */
export interface IptablesRender {
  readonly nft: StoreRender;
  readonly chains: PerFamily<IptablesChains>;
}

/**
 * The iptables port: one render per sync. The element store (as for nftables) re-renders
 * the changed Services and keeps the backend-neutral facts (counts, status digest, stale
 * UDP flows), so both backends report the same digest for the same plans; the iptables
 * chains are rendered from the plan the store holds (no Service is resolved twice), and
 * the applier restores only those that changed.
 */
export function storeIptablesPort(): IptablesPort<RenderInput, IptablesRender> {
  const nft = storeNftablesPort({ keepPlans: true });
  return {
    chainPrefix: 'NATPLAN-',
    tables: ['nat', 'filter'],
    render: (input) => {
      const rendered = nft.render(input);
      return { nft: rendered, chains: renderIptablesChains(rendered.store.plan()) };
    },
    chains: (r) => r.chains,
    committed: (r) => nft.committed?.(r.nft),
    hookJumps: iptablesHookJumps,
    cleanupInput: (existing) => iptablesCleanupScripts(mutable(existing)),
    staticChains: IPTABLES_STATIC_CHAINS,
    staleUdpEndpoints: (committed, r) => nft.staleUdpEndpoints(committed.nft, r.nft),
    digest: (r) => nft.digest(r.nft),
    counts: (r) => nft.counts(r.nft),
  };
}
