/**
 * Scripts that move the kernel from one state to another. Every script is one `nft -f`
 * transaction, so it applies entirely or not at all.
 *
 * None of them deletes the table or touches conntrack: established connections keep
 * their NAT mappings across restarts and full syncs. Dynamic affinity sets are never
 * flushed either (clients keep their endpoint for the configured timeout).
 */
import { fnv1a64Hex } from './hash.js';
import type { ChainState, IpFamily, NftChain, NftElement, NftSet, SetState, TableState } from './model.js';
import { FAMILIES } from './model.js';
import type { NftRuleset } from './nft-render.js';
import { NftTransaction } from './transaction.js';
import { SERVICE_SETS, derivationFrom } from './derivation.js';

const chainObject = (family: IpFamily, c: { name: string; base?: ChainState['base'] }): NftChain =>
  ({ kind: 'chain', family, name: c.name, ...(c.base ? { base: c.base } : {}) });
const isDynamic = (s: SetState): boolean => s.definition.flags?.includes('dynamic') ?? false;

function addElements(tx: NftTransaction, family: IpFamily, set: SetState, keys?: Iterable<string>): void {
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

function fillRules(tx: NftTransaction, family: IpFamily, chain: ChainState): void {
  for (const rule of chain.rules) tx.add({ kind: 'rule', family, chain: chain.name, rule });
}

function scriptOrThrowless(tx: NftTransaction): string {
  const result = tx.toScript();
  // The model is produced by our own renderer; an invalid object is a renderer bug. The
  // script then carries the error as a line nft rejects, so it can never half-apply.
  return 'script' in result ? result.script : `# natplan renderer bug: ${result.error.replace(/[\r\n]/g, ' ')}\ninvalid\n`;
}

/**
 * One transaction that makes the tables equal `desired` without deleting them: every
 * desired chain and non-dynamic set is flushed and refilled. Objects present in `previous`
 * (the last committed or attempted state, if known) but not desired are deleted.
 */
export function nftFullSyncScript(desired: NftRuleset, previous?: NftRuleset): string {
  if (previous) return fullSyncScript(desired, previous);
  // Memoised per ruleset object (rulesets are immutable): the applier and the digest both ask.
  let script = fullSyncCache.get(desired);
  if (script === undefined) fullSyncCache.set(desired, (script = fullSyncScript(desired, undefined)));
  return script;
}

const fullSyncCache = new WeakMap<NftRuleset, string>();

function fullSyncScript(desired: NftRuleset, previous: NftRuleset | undefined): string {
  const tx = new NftTransaction();
  for (const family of FAMILIES) {
    const table = desired.tables[family];
    const old = previous?.tables[family];
    declare(tx, table);
    const staleChains = old ? [...old.chains.values()].filter((c) => !table.chains.has(c.name)) : [];
    const staleSets = old ? [...old.sets.values()].filter((s) => !table.sets.has(s.definition.name)) : [];
    // `add` before `flush`/`delete` makes both succeed whether or not the object exists
    // (nft 1.0.6 has no `destroy`).
    for (const c of staleChains) tx.add(chainObject(family, c));
    for (const s of staleSets) tx.add(s.definition);
    for (const c of [...table.chains.values(), ...staleChains]) tx.flush(chainObject(family, c));
    for (const s of table.sets.values()) if (!isDynamic(s)) tx.flush(s.definition);
    for (const c of staleChains) tx.delete(chainObject(family, c));
    for (const s of staleSets) tx.delete(s.definition);
    for (const c of table.chains.values()) fillRules(tx, family, c);
    for (const s of elementOrder(table.sets.values())) addElements(tx, family, s);
  }
  return scriptOrThrowless(tx);
}

function sameDefinition(a: NftSet, b: NftSet): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}
function sameRules(a: ChainState, b: ChainState): boolean {
  return a.rules.length === b.rules.length && a.rules.every((r, i) => r === b.rules[i]);
}

/**
 * Only what changed between the committed state and the desired one, or null when nothing
 * did. A changed set definition or base chain falls back to a full sync (it needs a
 * delete and re-create of the object, which a diff cannot express safely).
 */
export function nftIncrementalScript(committed: NftRuleset, desired: NftRuleset): string | null {
  const tx = new NftTransaction();
  // When `desired` was rendered with a memo from `committed`, only the element keys the
  // memo says may differ are compared in the sets Services fill (the others in full); the
  // script is the same as comparing everything.
  const derivation = derivationFrom(committed, desired);
  for (const family of FAMILIES) {
    const now = committed.tables[family];
    const next = desired.tables[family];
    const touched = derivation?.touched[family];
    /** Keys to compare in one set: in the order of the maps (sorted), like a full comparison. */
    const keysOf = (name: string, elements: Map<string, string>): Iterable<string> => {
      if (!touched || !SERVICE_SETS.has(name)) return elements.keys();
      return [...touched.get(name) ?? []].sort();
    };
    const retimed: NftSet[] = [];
    for (const [name, set] of next.sets) {
      const old = now.sets.get(name);
      if (!old || sameDefinition(old.definition, set.definition)) continue;
      // A new affinity timeout: `add set` on the existing set updates it in place (nft
      // 1.0.6, Linux 6.18; pinned by the netns test), keeping the remembered clients.
      if (sameDefinition({ ...old.definition, timeoutSeconds: 0 }, { ...set.definition, timeoutSeconds: 0 })) retimed.push(set.definition);
      else return nftFullSyncScript(desired, committed);
    }
    for (const [name, chain] of next.chains) {
      const old = now.chains.get(name);
      if (old && JSON.stringify(old.base) !== JSON.stringify(chain.base)) return nftFullSyncScript(desired, committed);
    }
    const newChains = [...next.chains.values()].filter((c) => !now.chains.has(c.name));
    const changedChains = [...next.chains.values()].filter((c) => { const o = now.chains.get(c.name); return o && !sameRules(o, c); });
    const removedChains = [...now.chains.values()].filter((c) => !next.chains.has(c.name));
    const newSets = [...next.sets.values()].filter((s) => !now.sets.has(s.definition.name));
    const removedSets = [...now.sets.values()].filter((s) => !next.sets.has(s.definition.name));

    for (const c of newChains) tx.add(chainObject(family, c));
    for (const s of newSets) tx.add(s.definition);
    for (const definition of retimed) tx.add(definition);
    // Element deletions first: they may reference chains deleted below.
    for (const set of next.sets.values()) {
      const old = now.sets.get(set.definition.name);
      if (!old || isDynamic(set)) continue;
      for (const key of keysOf(set.definition.name, old.elements)) {
        const value = old.elements.get(key);
        if (value !== undefined && set.elements.get(key) !== value) tx.delete({ kind: 'element', family, set: set.definition.name, key });
      }
    }
    for (const c of changedChains) tx.flush(chainObject(family, c));
    for (const c of [...newChains, ...changedChains]) fillRules(tx, family, c);
    for (const set of elementOrder(next.sets.values())) {
      const old = now.sets.get(set.definition.name);
      if (isDynamic(set)) continue;
      const added = [...keysOf(set.definition.name, set.elements)].filter((key) => {
        const value = set.elements.get(key);
        return value !== undefined && old?.elements.get(key) !== value;
      });
      addElements(tx, family, set, added);
    }
    for (const c of removedChains) tx.flush(chainObject(family, c));
    for (const c of removedChains) tx.delete(chainObject(family, c));
    for (const s of removedSets) tx.delete(s.definition);
  }
  return tx.size ? scriptOrThrowless(tx) : null;
}

/**
 * A cold start split into transactions of at most ~`maxElementsPerChunk` rules and
 * elements, so no single one holds the nfnetlink mutex for long. Script 1 declares and
 * flushes everything and fills the skeleton; then the per-Service chains; the elements
 * that make Services reachable come last, so nothing half-built ever sees a packet.
 * Meant for an absent or agent-owned table at start-up; use the full sync otherwise
 * (between chunks, existing Services are briefly unreachable).
 */
export function nftColdStartScripts(desired: NftRuleset, maxElementsPerChunk: number): string[] {
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

/** A stable digest of the desired state: FNV-1a 64 over its canonical full-sync script. */
export function rulesetDigest(ruleset: NftRuleset): string {
  return `fnv1a64:${fnv1a64Hex(nftFullSyncScript(ruleset))}`;
}
