export { createApplier, createDetectedApplier } from './create.js';
export { removeEverything } from './cleanup-all.js';
export type { CleanupReport } from './cleanup-all.js';
export { IptablesApplier, declaredChains } from './iptables-applier.js';
export { NftApplier } from './nft-applier.js';
export { nftablesPort, rulesetSize, storeIptablesPort, storeNftablesPort } from './render-ports.js';
export type { IptablesRender, StoreRender } from './render-ports.js';
export { TransactionalApplier, describeFailure } from './transactional-applier.js';
export { StaleUdpCleaner } from './conntrack.js';
export type { StaleUdpCleanerOptions, StaleUdpOutcome } from './conntrack.js';
export { DEFAULT_FULL_SYNC_INTERVAL_MS, DEFAULT_MAX_ELEMENTS_PER_TRANSACTION } from './types.js';
export type {
  Applier, ApplierOptions, ApplyFailure, ApplyMode, ApplyResult, ApplySuccess, HookJump, IptablesChains, IptablesPort, KernelCheck, NftScriptPort, NftSkeleton,
  PerFamily, RulesetCounts, RulesetPort, StaleUdpFlow,
} from './types.js';
