/**
 * The nftables kernel check: does the kernel still hold what the agent committed last?
 * It must cost the same at 10 Services and at 30,000, which rules out listing chains:
 * nft 1.0.6 fills its whole cache (every set element) even to list one chain (1.7-2.2 s
 * at 5k Services under load), while a `--check` batch that names objects by handle or
 * key only needs the set definitions (16-29 ms there); both printed by
 * `npx tsx bench/kernel-check.ts 5000`. So:
 *
 * - every commit ends with a marker, a one-element set holding the commit's sequence
 *   number: it is in the kernel iff that transaction is (and nothing rolled it back); an
 *   incremental commit starts by deleting the previous marker, so it only lands on the
 *   commit it was computed against, and needs no check before it (nft-applier.ts);
 * - after a commit that (re)wrote the static chains, their rule handles are read once
 *   (`nft -a -t list table`, the costly read, done only then) and their count compared
 *   with what was committed;
 * - the check is one `nft --check -f -` that deletes, without committing, the marker
 *   element, every static rule by handle, and one element of each static set: the kernel
 *   refuses (ENOENT) if any is gone. A flushed or deleted table, a deleted or replaced
 *   static rule (replacing gives a new handle), a flushed static map all fail it.
 * Rules someone adds to our chains, and per-Service elements other than the samples,
 * are not seen; the periodic full resync still rewrites everything.
 */
import { isExecError } from '../exec/index.js';
import type { Exec } from '../exec/index.js';
import type { KernelCheck, NftSkeleton } from './types.js';

/** The marker set's name; no renderer object has it. */
export const MARKER_SET = 'commit-marker';

const markerElement = (sequence: number): string => `0x${(sequence >>> 0).toString(16).padStart(8, '0')}`;

/** Lines that end a commit script: the marker set (created if absent) holds only `sequence`. */
export function markerScript(table: string, sequence: number): string {
  return `add set ${table} ${MARKER_SET} { type mark ; }\nflush set ${table} ${MARKER_SET}\nadd element ${table} ${MARKER_SET} { ${markerElement(sequence)} }\n`;
}

/**
 * The first line of an incremental commit: it deletes the last commit's marker element,
 * so the kernel refuses the whole transaction (ENOENT) unless it still holds that commit.
 * The marker lines at the end then add the new one.
 */
export function markerCondition(table: string, lastSequence: number): string {
  return `delete element ${table} ${MARKER_SET} { ${markerElement(lastSequence)} }\n`;
}

/** Appends the marker to a commit script (which may or may not end with a newline). */
export function withMarker(script: string, table: string, sequence: number): string {
  return `${script}${script.endsWith('\n') || script === '' ? '' : '\n'}${markerScript(table, sequence)}`;
}

/** `table -> chain -> rule handles`, from `nft -a -t list table` output. */
export type RuleHandles = Map<string, Map<string, number[]>>;

/**
 * Rule handles per chain from `nft -a list table FAMILY NAME` output. Only lines inside a
 * chain that end with `# handle N` and are not the chain header count as rules.
 */
export function parseRuleHandles(listing: string): Map<string, number[]> {
  const chains = new Map<string, number[]>();
  let current: number[] | undefined;
  for (const raw of listing.split('\n')) {
    const line = raw.trim();
    const header = /^chain (\S+) \{/.exec(line);
    if (header) {
      current = [];
      chains.set(header[1] ?? '', current);
      continue;
    }
    if (line === '}') { current = undefined; continue; }
    const handle = /# handle (\d+)$/.exec(line);
    if (current && handle && !/^(set|map) /.test(line)) current.push(Number(handle[1]));
  }
  return chains;
}

/** Reads the handles of the skeleton's chains; a problem text when they do not match what was committed. */
export async function readHandles(exec: Exec, skeleton: NftSkeleton, timeoutMs?: number): Promise<{ handles: RuleHandles } | { problem: string }> {
  const handles: RuleHandles = new Map();
  for (const table of new Set(skeleton.chains.map((c) => c.table))) {
    const [family = '', name = ''] = table.split(' ');
    let listing: string;
    try {
      listing = (await exec.run(['nft', '-a', '-t', 'list', 'table', family, name], timeoutMs ? { timeoutMs } : {})).stdout;
    } catch (error) {
      return { problem: isExecError(error, 'notFound') ? `table ${table} is missing` : `cannot list table ${table}: ${String(error)}` };
    }
    handles.set(table, parseRuleHandles(listing));
  }
  for (const { table, chain, rules } of skeleton.chains) {
    const found = handles.get(table)?.get(chain);
    if (!found) return { problem: `chain ${table} ${chain} is missing` };
    if (found.length !== rules.length) return { problem: `chain ${table} ${chain} holds ${found.length} rules, ${rules.length} committed` };
  }
  return { handles };
}

/** The `nft --check` batch that fails iff something of the last commit is gone. */
export function checkScript(skeleton: NftSkeleton, handles: RuleHandles, markerTable: string, sequence: number): string {
  const lines: string[] = [`delete element ${markerTable} ${MARKER_SET} { ${markerElement(sequence)} }`];
  for (const { table, chain } of skeleton.chains) {
    for (const handle of handles.get(table)?.get(chain) ?? []) lines.push(`delete rule ${table} ${chain} handle ${handle}`);
  }
  for (const { table, set, key } of skeleton.elements) lines.push(`delete element ${table} ${set} { ${key} }`);
  return `${lines.join('\n')}\n`;
}

/** Runs the check batch; confirmed when the kernel would accept every deletion. */
export async function runCheck(exec: Exec, script: string, timeoutMs?: number): Promise<KernelCheck> {
  try {
    await exec.run(['nft', '--check', '-f', '-'], { stdin: script, ...(timeoutMs ? { timeoutMs } : {}) });
    return { confirmed: true };
  } catch (error) {
    if (!isExecError(error)) return { confirmed: false, problem: `kernel check failed: ${String(error)}` };
    // nft prints each refused command under its error line; quote the first two.
    const lines = error.stderr.split('\n').map((l) => l.trim()).filter((l) => l && !/^\^+$/.test(l));
    const what = error.kind === 'notFound' ? 'the kernel no longer holds the last commit' : `kernel check failed (${error.kind})`;
    return { confirmed: false, problem: `${what}: ${lines.slice(0, 4).join(' | ').slice(0, 400)}` };
  }
}
