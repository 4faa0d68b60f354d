import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ExecError, isExecError } from './errors.js';
import type { Exec } from './exec.js';
import { familyOfValid, type IPFamily } from '@natplan/netaddr';
import type { StaleUdpFlow } from '../render/stale-udp.js';

/**
 * Typed wrappers for the few commands the agent runs. Each is one line of argv so the
 * whole surface the agent has on the kernel is visible here.
 */

export type NftFamily = 'ip' | 'ip6' | 'inet';

/** conntrack's name for a family (`conntrack -f ipv4`). */
const conntrackFamily = (family: IPFamily): 'ipv4' | 'ipv6' => (family === 'IPv4' ? 'ipv4' : 'ipv6');

/** Applies a script as one transaction: nft commits a whole `-f` file or nothing. */
export async function nftApply(exec: Exec, script: string, timeoutMs?: number): Promise<void> {
  await exec.run(['nft', '-f', '-'], { stdin: script, ...(timeoutMs ? { timeoutMs } : {}) });
}

/** Lets the kernel validate a script without committing it (nft sends the batch and aborts). */
export async function nftCheck(exec: Exec, script: string): Promise<void> {
  await exec.run(['nft', '--check', '-f', '-'], { stdin: script });
}

/** The table as nft prints it, or null when it does not exist. */
export async function nftListTable(exec: Exec, family: NftFamily, table: string): Promise<string | null> {
  try {
    return (await exec.run(['nft', 'list', 'table', family, table])).stdout;
  } catch (error) {
    if (isExecError(error, 'notFound')) return null;
    throw error;
  }
}

/**
 * Which iptables userspace to run. `default` is whatever `iptables` is on the host (here
 * iptables-nft); `legacy` is the x_tables one. They keep separate rulesets, so the agent
 * must use the one the host uses. iptables-nft 1.8.9 restores large inputs ~30x slower
 * than legacy (7-9 s vs 0.25 s for 1k Services x 10 endpoints, measured here).
 */
export type IptablesVariant = 'default' | 'legacy';

function iptablesBinary(family: IPFamily, tool: '' | '-restore' | '-save', variant: IptablesVariant = 'default'): string {
  return `${family === 'IPv4' ? 'iptables' : 'ip6tables'}${variant === 'legacy' ? '-legacy' : ''}${tool}`;
}

export interface RestoreOptions {
  /** Keep chains the input does not mention (ours are flushed by their `:CHAIN` lines). */
  readonly noflush?: boolean;
  /** Parse and validate only. */
  readonly test?: boolean;
  readonly variant?: IptablesVariant;
  /** Large restores with iptables-nft can take minutes; see IptablesVariant. */
  readonly timeoutMs?: number;
}

/** iptables-restore / ip6tables-restore; the input commits per table at each COMMIT line. */
export async function iptablesRestore(exec: Exec, family: IPFamily, input: string, options: RestoreOptions = {}): Promise<void> {
  const argv = [iptablesBinary(family, '-restore', options.variant), '-w', '5'];
  if (options.noflush) argv.push('--noflush');
  if (options.test) argv.push('--test');
  await exec.run(argv, { stdin: input, ...(options.timeoutMs ? { timeoutMs: options.timeoutMs } : {}) });
}

/** One iptables / ip6tables command (rule checks and hook jumps; bulk changes go through restore). */
export async function iptables(exec: Exec, family: IPFamily, args: readonly string[], variant?: IptablesVariant): Promise<void> {
  await exec.run([iptablesBinary(family, '', variant), '-w', '5', ...args]);
}

export async function iptablesSave(exec: Exec, family: IPFamily, table = 'nat', variant?: IptablesVariant): Promise<string> {
  return (await exec.run([iptablesBinary(family, '-save', variant), '-t', table])).stdout;
}

/** The conntrack arguments (after `conntrack`) that delete the UDP entries `flow` names. */
export function udpDeleteArgs(flow: StaleUdpFlow): string[] {
  const family = conntrackFamily(familyOfValid(flow.address));
  const tuple = flow.match === 'original-destination'
    ? ['--orig-dst', flow.address, '--orig-port-dst', String(flow.port)]
    : [
      ...(flow.frontend ? ['--orig-dst', flow.frontend.address, '--orig-port-dst', String(flow.frontend.port)] : []),
      '--reply-src', flow.address, '--reply-port-src', String(flow.port),
    ];
  return ['-D', '-f', family, '-p', 'udp', ...tuple];
}

/**
 * Deletes UDP conntrack entries. UDP has no end of connection, so without this a client
 * that keeps its source port keeps talking to an endpoint that is gone until the entry
 * times out. Returns false when nothing matched (conntrack exits 1 for that).
 */
export async function conntrackDeleteUdp(exec: Exec, flow: StaleUdpFlow): Promise<boolean> {
  try {
    await exec.run(['conntrack', ...udpDeleteArgs(flow)]);
    return true;
  } catch (error) {
    if (isExecError(error, 'notFound')) return false;
    throw error;
  }
}

/** One UDP conntrack entry: its original and reply directions. */
export interface UdpConntrackEntry {
  readonly family: IPFamily;
  readonly original: { readonly src: string; readonly dst: string; readonly sport: number; readonly dport: number };
  readonly reply: { readonly src: string; readonly dst: string; readonly sport: number; readonly dport: number };
}

/**
 * Every UDP conntrack entry of one family, with one `conntrack -L` (a dump costs about as
 * much as one `conntrack -D`, which dumps too: ~20 ms here, where 1,000 entries list in 70 ms).
 */
export async function conntrackListUdp(exec: Exec, family: IPFamily, timeoutMs?: number): Promise<UdpConntrackEntry[]> {
  const { stdout } = await exec.run(['conntrack', '-L', '-f', conntrackFamily(family), '-p', 'udp'], timeoutMs ? { timeoutMs } : {});
  return parseUdpConntrack(stdout, family);
}

/** Parses `conntrack -L` lines: `udp 17 29 src=A dst=B sport=1 dport=2 [UNREPLIED] src=C dst=D sport=3 dport=4 ...`. */
export function parseUdpConntrack(text: string, family: IPFamily): UdpConntrackEntry[] {
  const out: UdpConntrackEntry[] = [];
  for (const line of text.split('\n')) {
    const m = /\bsrc=(\S+) dst=(\S+) sport=(\d+) dport=(\d+) .*?\bsrc=(\S+) dst=(\S+) sport=(\d+) dport=(\d+)/.exec(line);
    if (!m || !line.startsWith('udp')) continue;
    out.push({
      family,
      original: { src: m[1] ?? '', dst: m[2] ?? '', sport: Number(m[3]), dport: Number(m[4]) },
      reply: { src: m[5] ?? '', dst: m[6] ?? '', sport: Number(m[7]), dport: Number(m[8]) },
    });
  }
  return out;
}

/**
 * Deletes the given entries (by their original tuple) with one process: `conntrack -R
 * FILE` reads one command per line (conntrack-tools 1.4.6+); a line that matches nothing
 * (the entry expired meanwhile) does not stop the others. A file, not stdin: conntrack
 * opens `/dev/stdin` by name, which fails on the socket Node gives a child as stdin.
 * Each line still costs a dump in the kernel (~20 ms here), so callers keep batches small.
 */
export async function conntrackDeleteEntries(exec: Exec, entries: readonly UdpConntrackEntry[], timeoutMs?: number): Promise<void> {
  if (entries.length === 0) return;
  const lines = entries.map((e) => `-D -f ${conntrackFamily(e.family)} -p udp -s ${e.original.src} -d ${e.original.dst} --sport ${e.original.sport} --dport ${e.original.dport}\n`).join('');
  const dir = await mkdtemp(join(tmpdir(), 'natplan-conntrack-'));
  try {
    const file = join(dir, 'delete');
    await writeFile(file, lines, { mode: 0o600 });
    await exec.run(['conntrack', '-R', file], timeoutMs ? { timeoutMs } : {});
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

export type Backend = 'nftables' | 'iptables';
export type BackendPreference = 'auto' | Backend;

/** A table name no one else uses; the probe never commits, so nothing is left behind. */
const PROBE_SCRIPT = 'add table ip natplan_probe\nadd chain ip natplan_probe probe { type nat hook prerouting priority -100 ; }\n';
const IPTABLES_PROBE = '*nat\nCOMMIT\n';

/**
 * Picks the backend: nftables when the nft binary exists and the kernel accepts a NAT
 * chain (checked with `nft --check`, which talks to the kernel but commits nothing);
 * otherwise iptables when iptables-restore works; otherwise an ExecError explaining both.
 * A preference for one backend is honoured or reported, never silently swapped.
 */
export async function detectBackend(exec: Exec, preference: BackendPreference = 'auto'): Promise<Backend> {
  const reasons: string[] = [];
  if (preference !== 'iptables') {
    try {
      await nftCheck(exec, PROBE_SCRIPT);
      return 'nftables';
    } catch (error) {
      reasons.push(`nftables: ${describe(error)}`);
      if (preference === 'nftables') throw unusable(reasons, error);
    }
  }
  try {
    await iptablesRestore(exec, 'IPv4', IPTABLES_PROBE, { test: true, noflush: true });
    return 'iptables';
  } catch (error) {
    reasons.push(`iptables: ${describe(error)}`);
    throw unusable(reasons, error);
  }
}

function describe(error: unknown): string {
  return isExecError(error) ? `${error.kind}: ${error.stderr.trim()}` : String(error);
}

function unusable(reasons: string[], cause: unknown): ExecError {
  const kind = isExecError(cause) ? cause.kind : 'other';
  return new ExecError(kind, ['detect-backend'], `no usable NAT backend (${reasons.join('; ')})`, null);
}
