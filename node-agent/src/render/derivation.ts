/**
 * Which ruleset a memo render was derived from, and which element keys of which sets may
 * differ from it. nftIncrementalScript uses it to compare only those keys instead of every
 * element (rulesets are immutable, so the record stays true for the objects' lifetime).
 */
import type { IpFamily } from './model.js';
import type { NftRuleset } from './nft-render.js';
import { SET, slotMapName } from './nft-skeleton.js';

/** The sets whose elements come from Services only (none from the node plan or the skeleton). */
export const SERVICE_SETS: ReadonlySet<string> = new Set<string>([
  SET.serviceIps, SET.serviceNodePorts, SET.noEndpointServices, SET.noEndpointNodePorts, SET.firewallIps, SET.firewallAllow, SET.hairpin,
  ...(['frontend', 'nodeport'] as const).flatMap((kind) => (['tcp', 'udp', 'sctp'] as const).map((protocol) => slotMapName(kind, protocol))),
]);

export interface Derivation {
  /** Weak: a strong reference would keep every ruleset ever rendered alive, each holding the one before. */
  base: WeakRef<NftRuleset>;
  /** Per family: set name -> keys that may differ; sets filled by Services only. */
  touched: Record<IpFamily, Map<string, Set<string>>>;
}

const derivations = new WeakMap<NftRuleset, Derivation>();

export function recordDerivation(ruleset: NftRuleset, derivation: Derivation): void {
  derivations.set(ruleset, derivation);
}

/** The keys of `desired` that may differ from `committed`, when known. */
export function derivationFrom(committed: NftRuleset, desired: NftRuleset): Derivation | undefined {
  const derivation = derivations.get(desired);
  return derivation?.base.deref() === committed ? derivation : undefined;
}
