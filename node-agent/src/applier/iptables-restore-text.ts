/**
 * iptables-restore (--noflush) input from chain models, and which chains differ between
 * two models. iptables has no element-level delta, but it does have chains: a change
 * restores only the chains whose rules changed (declaring a chain flushes just it) and
 * deletes the chains no longer wanted, so one endpoint change rewrites that Service's
 * few chains instead of every chain of the agent.
 */
import type { IptablesChains } from './types.js';

/** Per table: the chains to write, and the chains to flush and delete. */
export interface ChainChanges {
  write: ReadonlyMap<string, readonly string[]>;
  remove: ReadonlyMap<string, readonly string[]>;
}

const same = (a: readonly string[], b: readonly string[]): boolean => a.length === b.length && a.every((r, i) => r === b[i]);

/** The chains of `desired` that differ from `committed`, and those gone; null when none. */
export function chainChanges(committed: IptablesChains, desired: IptablesChains): ChainChanges | null {
  const write = new Map<string, string[]>();
  const remove = new Map<string, string[]>();
  let any = false;
  for (const [table, chains] of desired) {
    const old = committed.get(table);
    const changed = [...chains].filter(([name, rules]) => { const o = old?.get(name); return !o || !same(o, rules); }).map(([name]) => name);
    write.set(table, changed);
    any ||= changed.length > 0;
  }
  for (const [table, chains] of committed) {
    const gone = [...chains.keys()].filter((name) => !desired.get(table)?.has(name));
    remove.set(table, gone);
    any ||= gone.length > 0;
  }
  return any ? { write, remove } : null;
}

/** Every chain of `desired` written, plus `stale` chains (per table) deleted. */
export function fullChanges(desired: IptablesChains, stale: ReadonlyMap<string, readonly string[]>): ChainChanges {
  const write = new Map([...desired].map(([table, chains]) => [table, [...chains.keys()]]));
  const remove = new Map([...stale].map(([table, names]) => [table, names.filter((n) => !desired.get(table)?.has(n))]));
  return { write, remove };
}

/**
 * Restore input applying `changes` to reach `desired`: each table in one COMMIT, its
 * written and removed chains declared (so flushed) first, then the written chains' rules,
 * then the removed chains deleted (the rules that jumped to them are gone by then).
 */
export function restoreText(desired: IptablesChains, changes: ChainChanges): string {
  const lines: string[] = [];
  for (const table of new Set([...changes.write.keys(), ...changes.remove.keys()])) {
    const write = changes.write.get(table) ?? [];
    const remove = changes.remove.get(table) ?? [];
    if (!write.length && !remove.length) continue;
    lines.push(`*${table}`, ...[...write, ...remove].map((c) => `:${c} - [0:0]`));
    for (const chain of write) lines.push(...desired.get(table)?.get(chain) ?? []);
    lines.push(...remove.map((c) => `-X ${c}`), 'COMMIT');
  }
  return lines.length ? `${lines.join('\n')}\n` : '';
}

/** Only the given chains (the static ones, for the kernel check's first rules). */
export function chainsText(desired: IptablesChains, names: readonly string[]): string {
  const only = new Map([...desired].map(([table, chains]) => [table, [...chains.keys()].filter((c) => names.includes(c))]));
  return restoreText(desired, { write: only, remove: new Map() });
}
