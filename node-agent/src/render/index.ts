/**
 * Public API of the pure renderers (DESIGN.md §3): (NodeNatPlan, ServiceNatPlans, node
 * identity) -> ruleset model -> `nft -f` script, and iptables-restore input with the same
 * semantics. No I/O here; the applier runs the scripts.
 *
 * Invalid or conflicting input never breaks a script: the offending part is left out and
 * described in `NftRuleset.problems` (the iptables renderer drops the same parts).
 */
export type { NodeIdentity, RenderInput } from './plan.js';
export type { NftRuleset, RulesetCounts } from './nft-render.js';
export type { StoreState } from './element-store.js';
export type { Leftovers } from './nft-sync.js';
export type { StaleUdpFlow } from './stale-udp.js';
export type { IptablesChains, IptablesJump, IptablesOptions } from './iptables-render.js';

export { renderNftables, rulesetCounts, storeRuleset } from './nft-render.js';
export { RulesetStore, type RulesetStoreOptions } from './element-store.js';
export { nftFullSyncScript, nftFullSyncScriptWith, nftDeltaScript, nftIncrementalScript, nftColdStartScripts, nftCleanupScript, rulesetDigest } from './nft-sync.js';
export { staleUdpEndpoints } from './stale-udp.js';
export { renderIptables, renderIptablesChains, iptablesCleanupScripts, iptablesHookJumps, IPTABLES_STATIC_CHAINS } from './iptables-render.js';
