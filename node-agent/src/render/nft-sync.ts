/**
 * Scripts that move the kernel from one state to another. Every script is one `nft -f`
 * transaction, so it applies entirely or not at all.
 *
 * None of them deletes the table or touches conntrack: established connections keep
 * their NAT mappings across restarts and full syncs. Dynamic affinity sets are never
 * flushed either (clients keep their endpoint for the configured timeout).
 */
import type { ChainState, IPFamily, NftChain, NftElement, NftSet, SetState, TableState } from './model.js';
import { FAMILIES } from './model.js';
import type { NftRuleset } from './nft-render.js';
import type { RulesetDelta } from './ruleset-delta.js';
import { diffTables, sameSet } from './ruleset-delta.js';
import { tablesDigest } from './ruleset-digest.js';
import { NftTransaction } from './transaction.js';

const chainObject = (family: IPFamily, c: { name: string; base?: ChainState['base'] }): NftChain =>
  ({ kind: 'chain', family, name: c.name, ...(c.base ? { base: c.base } : {}) });
const isDynamic = (s: SetState): boolean => s.definition.flags?.includes('dynamic') ?? false;

function addElements(tx: NftTransaction, family: IPFamily, set: SetState, keys?: Iterable<string>): void {
  for (const key of keys ?? set.elements.keys()) {
    const value = set.elements.get(key) ?? '';
    const element: NftElement = { kind: 'element', family, set: set.definition.name, key, ...(set.definition.kind === 'map' ? { value } : {}) };
    tx.add(element);
  }
}

/** Elements of sets that gate others go last, so a half-written state never drops traffic. */
function elementOrder(sets: Iterable<SetState>): SetState[] {
  const last = ['firewall-ips', 'exposure-firewall-ips', 'service-ips', 'exposure-ips', 'service-nodeports'];
  return [...sets].sort((a, b) => last.indexOf(a.definition.name) - last.indexOf(b.definition.name));
}

function declare(tx: NftTransaction, table: TableState): void {
  tx.add({ kind: 'table', family: table.family });
  for (const c of table.chains.values()) tx.add(chainObject(table.family, c));
  for (const s of table.sets.values()) tx.add(s.definition);
}

function fillRules(tx: NftTransaction, family: IPFamily, chain: ChainState): void {
  for (const rule of chain.rules) tx.add({ kind: 'rule', family, chain: chain.name, rule });
}

function scriptOrThrowless(tx: NftTransaction): string {
  const result = tx.toScript();
  // The model is produced by our own renderer; an invalid object is a renderer bug. The
  // script then carries the error as a line nft rejects, so it can never half-apply.
  return 'script' in result ? result.script : `# natplan renderer bug: ${result.error.replace(/[\r\n]/g, ' ')}\ninvalid\n`;
}

/** Per family: chains and Service sets that may exist in the kernel and are no longer wanted. */
export type Leftovers = Record<IPFamily, { chains: readonly string[]; sets: readonly NftSet[] }>;

/**
 * One transaction that makes the tables equal `desired` without deleting them: every
 * desired chain and non-dynamic set is flushed and refilled. Objects present in `previous`
 * (the last committed or attempted state, if known) but not desired are deleted.
 */
export function nftFullSyncScript(desired: NftRuleset, previous?: NftRuleset): string {
  const leftovers = (family: IPFamily) => {
    const old = previous?.tables[family];
    const table = desired.tables[family];
    return {
      chains: old ? [...old.chains.keys()].filter((name) => !table.chains.has(name)) : [],
      sets: old ? [...old.sets.values()].filter((s) => !table.sets.has(s.definition.name)).map((s) => s.definition) : [],
    };
  };
  return nftFullSyncScriptWith(desired.tables, { IPv4: leftovers('IPv4'), IPv6: leftovers('IPv6') });
}

/** nftFullSyncScript with the objects to delete given as a list (the element store's leftovers). */
export function nftFullSyncScriptWith(tables: Record<IPFamily, TableState>, leftovers?: Leftovers): string {
  const tx = new NftTransaction();
  for (const family of FAMILIES) {
    const table = tables[family];
    declare(tx, table);
    const staleChains = (leftovers?.[family].chains ?? []).filter((name) => !table.chains.has(name)).map((name) => ({ name }));
    const staleSets = (leftovers?.[family].sets ?? []).filter((s) => !table.sets.has(s.name));
    // `add` before `flush`/`delete` makes both succeed whether or not the object exists
    // (nft 1.0.6 has no `destroy`).
    for (const c of staleChains) tx.add(chainObject(family, c));
    for (const s of staleSets) tx.add(s);
    for (const c of [...table.chains.values(), ...staleChains]) tx.flush(chainObject(family, c));
    for (const s of table.sets.values()) if (!isDynamic(s)) tx.flush(s.definition);
    for (const c of staleChains) tx.delete(chainObject(family, c));
    for (const s of staleSets) tx.delete(s);
    for (const c of table.chains.values()) fillRules(tx, family, c);
    for (const s of elementOrder(table.sets.values())) addElements(tx, family, s);
  }
  return scriptOrThrowless(tx);
}

/** Only what changed between two rulesets, or null when nothing did (see nftDeltaScript). */
export function nftIncrementalScript(committed: NftRuleset, desired: NftRuleset): string | null {
  const result = nftDeltaScript(desired.tables, diffTables(committed.tables, desired.tables));
  return 'full' in result ? nftFullSyncScript(desired, committed) : result.script;
}

const byText = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

/**
 * One transaction that applies `delta` to the kernel, whose result is `desired`; script
 * null when the delta is empty. `full` when the change cannot be expressed as a delta: a
 * changed set definition (other than an affinity timeout) or base chain needs the
 * object deleted and re-created, which only a full sync does safely. Objects are visited
 * by name, so the script depends on the delta only, not on how it was found.
 */
export function nftDeltaScript(desired: Record<IPFamily, TableState>, delta: RulesetDelta): { script: string | null } | { full: true } {
  const tx = new NftTransaction();
  for (const family of FAMILIES) {
    const { chains, sets, elements } = delta[family];
    const table = desired[family];
    const retimed: NftSet[] = [];
    for (const { before, after } of sets.values()) {
      if (!before || !after) continue;
      // A new affinity timeout: `add set` on the existing set updates it in place (nft
      // 1.0.6, Linux 6.18; pinned by the netns test), keeping the remembered clients.
      if (sameSet({ ...before, timeoutSeconds: 0 }, { ...after, timeoutSeconds: 0 })) retimed.push(after);
      else return { full: true };
    }
    const chainNames = [...chains.keys()].sort(byText);
    const newChains: ChainState[] = [];
    const changedChains: ChainState[] = [];
    const removedChains: string[] = [];
    for (const name of chainNames) {
      const { before, after } = chains.get(name) as { before: ChainState | null; after: ChainState | null };
      if (before && after && JSON.stringify(before.base) !== JSON.stringify(after.base)) return { full: true };
      if (!before && after) newChains.push(after);
      else if (before && after) changedChains.push(after);
      else if (before) removedChains.push(name);
    }
    const setNames = [...sets.keys()].sort(byText);
    const newSets = setNames.flatMap((name) => { const c = sets.get(name); return c && !c.before && c.after ? [c.after] : []; });
    const removedSets = setNames.flatMap((name) => { const c = sets.get(name); return c?.before && !c.after ? [c.before] : []; });

    for (const c of newChains) tx.add(chainObject(family, c));
    for (const s of newSets) tx.add(s);
    for (const definition of retimed.sort((a, b) => byText(a.name, b.name))) tx.add(definition);
    // In table order (the static sets come first, in the same order in every state).
    const elementSets = [...table.sets.values()].filter((set) => elements.has(set.definition.name) && !isDynamic(set)).map((set) => set.definition.name);
    // Element deletions first: they may reference chains deleted below.
    for (const name of elementSets) {
      const changes = elements.get(name);
      for (const key of [...changes?.keys() ?? []].sort()) {
        if ((changes?.get(key)?.before ?? null) !== null) tx.delete({ kind: 'element', family, set: name, key });
      }
    }
    for (const c of changedChains) tx.flush(chainObject(family, c));
    for (const c of [...newChains, ...changedChains]) fillRules(tx, family, c);
    for (const set of elementOrder(elementSets.map((name) => table.sets.get(name) as SetState))) {
      const name = set.definition.name;
      const changes = elements.get(name);
      const added = [...changes?.keys() ?? []].filter((key) => changes?.get(key)?.after !== null).sort();
      addElements(tx, family, set, added);
    }
    for (const name of removedChains) tx.flush(chainObject(family, { name }));
    for (const name of removedChains) tx.delete(chainObject(family, { name }));
    for (const s of removedSets) tx.delete(s);
  }
  return { script: tx.size ? scriptOrThrowless(tx) : null };
}

/**
 * A cold start split into transactions of at most ~`maxElementsPerChunk` rules and
 * elements, so no single one holds the nfnetlink mutex for long. Script 1 declares and
 * flushes everything and fills the skeleton; then the per-Service chains; the elements
 * that make Services reachable come last, so nothing half-built ever sees a packet.
 * Meant for an absent or agent-owned table at start-up; use the full sync otherwise
 * (between chunks, existing Services are briefly unreachable).
 */
export function nftColdStartScripts(desired: Pick<NftRuleset, 'tables'>, maxElementsPerChunk: number): string[] {
  const limit = Math.max(1, Math.floor(maxElementsPerChunk) || 1);
  const first = new NftTransaction();
  const chunks: NftTransaction[] = [];
  let current: NftTransaction | undefined;
  const room = (needed: number): NftTransaction => {
    if (!current || (current.size > 0 && current.size + needed > limit)) chunks.push((current = new NftTransaction()));
    return current;
  };
  for (const family of FAMILIES) {
    const table = desired.tables[family];
    declare(first, table);
    for (const c of table.chains.values()) first.flush(chainObject(family, c));
    for (const s of table.sets.values()) if (!isDynamic(s)) first.flush(s.definition);
    for (const c of table.chains.values()) if (c.base || !/^[a-z]+-[0-9a-f]{16}$/.test(c.name)) fillRules(first, family, c);
  }
  for (const family of FAMILIES) {
    for (const c of desired.tables[family].chains.values()) {
      if (!c.base && /^[a-z]+-[0-9a-f]{16}$/.test(c.name)) fillRules(room(c.rules.length), family, c);
    }
  }
  for (const family of FAMILIES) {
    for (const set of elementOrder(desired.tables[family].sets.values())) {
      for (const key of set.elements.keys()) addElements(room(1), family, set, [key]);
    }
  }
  return [first, ...chunks].map(scriptOrThrowless);
}

/** Removes both tables; succeeds whether or not they exist. */
export function nftCleanupScript(): string {
  const tx = new NftTransaction();
  for (const family of FAMILIES) tx.add({ kind: 'table', family }).delete({ kind: 'table', family });
  return scriptOrThrowless(tx);
}

/** A stable digest of the desired state (see ruleset-digest.ts); the element store reports the same. */
export function rulesetDigest(ruleset: NftRuleset): string {
  return tablesDigest(ruleset.tables);
}
