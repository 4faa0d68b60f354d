import {
  IPTABLES_STATIC_CHAINS, iptablesCleanupScripts, iptablesHookJumps, newNftRenderMemo, nftCleanupScript, nftColdStartScripts, nftFullSyncScript,
  nftIncrementalScript, renderIptables, renderNftables, rulesetCounts, rulesetDigest, staleUdpEndpoints,
} from '../render/index.js';
import type { NftRuleset, RenderInput } from '../render/index.js';
import { FAMILIES, TABLE_NAME } from '../render/model.js';
import { CHAIN, SET } from '../render/nft-skeleton.js';
import type { IptablesPort, NftScriptPort, NftSkeleton, PerFamily } from './types.js';

/** Set elements and rules: what a transaction has to carry, for the cold-start split. */
export function rulesetSize(ruleset: NftRuleset): number {
  let size = 0;
  for (const table of Object.values(ruleset.tables)) {
    for (const set of table.sets.values()) size += set.elements.size;
    for (const chain of table.chains.values()) size += chain.rules.length;
  }
  return size;
}

const STATIC_CHAINS: ReadonlySet<string> = new Set(Object.values(CHAIN));
const STATIC_SETS: ReadonlySet<string> = new Set(Object.values(SET));

/**
 * The skeleton's chains (hooks and helpers, the same whatever the Services) and the first
 * element of each static set or map: what the kernel check reads back. Slot maps are
 * named `frontend-slots-tcp` etc. and count as static too.
 */
export function rulesetSkeleton(ruleset: NftRuleset): NftSkeleton {
  const chains: NftSkeleton['chains'][number][] = [];
  const elements: NftSkeleton['elements'][number][] = [];
  for (const family of FAMILIES) {
    const table = `${family} ${TABLE_NAME}`;
    for (const chain of ruleset.tables[family].chains.values()) {
      if (STATIC_CHAINS.has(chain.name)) chains.push({ table, chain: chain.name, rules: [...chain.rules] });
    }
    for (const set of ruleset.tables[family].sets.values()) {
      const name = set.definition.name;
      const isStatic = STATIC_SETS.has(name) || name.startsWith(`${SET.frontendSlots}-`) || name.startsWith(`${SET.nodePortSlots}-`);
      if (!isStatic || set.definition.flags?.includes('dynamic')) continue;
      const first = set.elements.keys().next();
      if (!first.done) elements.push({ table, set: name, key: first.value });
    }
  }
  return { chains, elements };
}

/** The real renderer behind the applier's port. */
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

const mutable = (chains: PerFamily<readonly string[]>) => ({ ipv4: [...chains.ipv4], ipv6: [...chains.ipv6] });

/**
 * The iptables renderer behind the applier's port. The nftables model is rendered too:
 * it is the backend-neutral description that stale-UDP cleanup, counts and the status
 * digest are computed from, so both backends report the same digest for the same plans.
 */
export const iptablesPort: IptablesPort<RenderInput, NftRuleset> = {
  chainPrefix: 'NATPLAN-',
  tables: ['nat', 'filter'],
  render: renderNftables,
  restoreInput: (input, existing) => renderIptables(input, { existingChains: mutable(existing) }),
  hookJumps: iptablesHookJumps,
  cleanupInput: (existing) => iptablesCleanupScripts(mutable(existing)),
  staticChains: IPTABLES_STATIC_CHAINS,
  staleUdpEndpoints,
  digest: rulesetDigest,
  counts: (ruleset) => ({ ...rulesetCounts(ruleset) }),
};

/**
 * Ports whose render keeps a memo between calls (one per applier): a sync after a small
 * change re-renders only the Services whose plans changed. Same results as the stateless
 * ports above.
 */
export function memoNftablesPort(): typeof nftablesPort {
  const memo = newNftRenderMemo();
  return { ...nftablesPort, render: (input) => renderNftables(input, memo) };
}

export function memoIptablesPort(): typeof iptablesPort {
  const memo = newNftRenderMemo();
  return { ...iptablesPort, render: (input) => renderNftables(input, memo) };
}
