/**
 * What a benchmark that runs real dataplanes checks about the machine itself: the root
 * namespace's ruleset (nft, iptables, ip6tables) before and after must be the same, and
 * /proc figures of the processes it measures. Reads only.
 */
import { readFileSync } from 'node:fs';
import { createExec } from '@natplan/node-agent/exec';

const host = createExec('host');

/**
 * The machine's own ruleset as text: `nft list ruleset`, `iptables-save`, `ip6tables-save`,
 * without the save tools' date comments and packet counters (traffic changes those).
 */
export async function hostRuleset(): Promise<string> {
  const parts: string[] = [];
  for (const argv of [['nft', 'list', 'ruleset'], ['iptables-save'], ['ip6tables-save']]) {
    const out = await host.run(argv).then((r) => r.stdout, (err: unknown) => `(${argv[0]} failed: ${String(err)})`);
    const text = out.split('\n').filter((l) => !l.startsWith('#')).map((l) => l.replace(/\[\d+:\d+\]/g, '[-]').replace(/counter packets \d+ bytes \d+/g, 'counter')).join('\n');
    parts.push(`== ${argv.join(' ')}\n${text}`);
  }
  return parts.join('\n');
}

/** Fails when the machine's ruleset differs from `before`, quoting the first differing line. */
export async function assertHostRulesetUnchanged(before: string): Promise<void> {
  const after = await hostRuleset();
  if (after === before) return;
  const a = before.split('\n');
  const b = after.split('\n');
  const i = a.findIndex((line, k) => line !== b[k]);
  throw new Error(`the machine's own ruleset changed during the benchmark (line ${i + 1}: ${JSON.stringify(a[i])} -> ${JSON.stringify(b[i])})`);
}

/** Resident memory of a process now and at its peak (VmRSS, VmHWM), in MiB; undefined once it is gone. */
export function rss(pid: number): { now: number; peak: number } | undefined {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kib = (field: string) => Number(/\s(\d+) kB/.exec(status.split('\n').find((l) => l.startsWith(`${field}:`)) ?? '')?.[1] ?? NaN);
    return { now: Math.round(kib('VmRSS') / 1024), peak: Math.round(kib('VmHWM') / 1024) };
  } catch {
    return undefined;
  }
}

/** CPU seconds (user + system) a process has used so far. */
export function cpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100; // utime, stime in clock ticks (100 Hz)
}

export function percentile(xs: readonly number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))] ?? NaN;
}
