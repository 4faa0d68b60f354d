/**
 * The iptables kernel check (see nft-kernel-check.ts for the nftables one): one
 * `iptables-restore --noflush` run per family whose input holds only `-C` (check) lines,
 * which both iptables-nft and iptables-legacy evaluate against the kernel and stop at the
 * first absent rule ("line N failed"), committing nothing. (`--test` would be neater, but
 * iptables-nft 1.8.9 skips the checks under it.) It checks a constant number of rules:
 *
 * - a marker rule in a chain of its own (`NATPLAN-COMMIT`, jumped to by nothing) whose
 *   comment holds the sequence number of the family's last restore;
 * - the jumps from the built-in chains into ours;
 * - the first rule of each static chain, as last restored.
 * A flushed table or chain, a deleted chain or jump fail it; rules added by others and
 * rules past the first of a chain are not seen (the periodic full resync rewrites them).
 */
import type { HookJump } from './types.js';

export const markerChain = (prefix: string): string => `${prefix}COMMIT`;
const markerRule = (prefix: string, sequence: number): string => `-A ${markerChain(prefix)} -m comment --comment "natplan commit ${sequence}"`;

/** Adds the marker chain and rule to the nat table of a family's restore input. */
export function withMarker(input: string, prefix: string, sequence: number): string {
  const lines = [`:${markerChain(prefix)} - [0:0]`, markerRule(prefix, sequence)];
  const nat = input.indexOf('*nat\n');
  if (nat < 0) return `*nat\n${lines.join('\n')}\nCOMMIT\n${input}`;
  const at = nat + '*nat\n'.length;
  return `${input.slice(0, at)}${lines.join('\n')}\n${input.slice(at)}`;
}

/** Per table, the first `-A` line of each of `chains` in restore input. */
function firstRules(input: string, chains: ReadonlySet<string>): Map<string, string[]> {
  const out = new Map<string, string[]>();
  const seen = new Set<string>();
  let table = '';
  for (const line of input.split('\n')) {
    if (line.startsWith('*')) { table = line.slice(1); continue; }
    const chain = /^-A (\S+) /.exec(line)?.[1];
    if (!chain || !chains.has(chain) || seen.has(`${table} ${chain}`)) continue;
    seen.add(`${table} ${chain}`);
    out.set(table, [...out.get(table) ?? [], line]);
  }
  return out;
}

/** The `-C`-only restore input that fails iff something of the family's last restore is gone. */
export function checkInput(committed: string, options: { prefix: string; sequence: number; staticChains: readonly string[]; jumps: readonly HookJump[] }): string {
  const byTable = new Map<string, string[]>([['nat', [markerRule(options.prefix, options.sequence)]]]);
  const add = (table: string, line: string): void => { byTable.set(table, [...byTable.get(table) ?? [], line]); };
  for (const jump of options.jumps) add(jump.table, `-A ${jump.chain} ${jump.args.join(' ')}`);
  for (const [table, lines] of firstRules(committed, new Set(options.staticChains))) for (const line of lines) add(table, line);
  const sections = [...byTable].map(([table, lines]) => [`*${table}`, ...lines.map((l) => l.replace(/^-A /, '-C ')), 'COMMIT'].join('\n'));
  return `${sections.join('\n')}\n`;
}

/** "line N failed" in iptables-restore's stderr -> that line of the input, to say what is missing. */
export function failedLine(input: string, stderr: string): string | undefined {
  const n = /line (\d+) failed/.exec(stderr)?.[1];
  return n === undefined ? undefined : input.split('\n')[Number(n) - 1];
}
