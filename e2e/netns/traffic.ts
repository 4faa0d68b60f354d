import { fileURLToPath } from 'node:url';
import type { Host, NetnsProcess } from './topology.js';

const ECHO_SERVER = fileURLToPath(new URL('./echo-server.mjs', import.meta.url));
const PROBE = fileURLToPath(new URL('./probe.mjs', import.meta.url));

/** What one connection or datagram got back: which server answered and the client address it saw. */
export type ProbeResult = { ok: true; server: string; seen: string } | { ok: false; error: string };

export interface EchoPorts {
  readonly tcp?: readonly number[];
  readonly udp?: readonly number[];
}

/** Starts the echo server in `host`, answering with `name`; resolves once it listens. */
export async function startEcho(host: Host, ports: EchoPorts, name = host.name): Promise<NetnsProcess> {
  const argv = [process.execPath, ECHO_SERVER, '--name', name];
  if (ports.tcp?.length) argv.push('--tcp', ports.tcp.join(','));
  if (ports.udp?.length) argv.push('--udp', ports.udp.join(','));
  const server = host.spawn(argv);
  await server.waitFor(/^ready /);
  return server;
}

export interface ProbeOptions {
  readonly count?: number;
  /** Source address to bind (a client with several addresses). */
  readonly bind?: string;
  readonly timeoutMs?: number;
}

/** `count` sequential TCP connections from `from` to address:port. */
export async function tcpProbe(from: Host, address: string, port: number, options: ProbeOptions = {}): Promise<ProbeResult[]> {
  return (await runProbe<{ results: ProbeResult[] }>(from, 'tcp', address, port, options)).results;
}

/** `count` UDP datagrams from one socket; `sourcePort` fixes the flow's 5-tuple across calls. */
export async function udpProbe(
  from: Host, address: string, port: number, options: ProbeOptions & { sourcePort?: number; gapMs?: number; connect?: boolean } = {},
): Promise<ProbeResult[]> {
  const extra: string[] = [];
  // A connected socket reports an ICMP port unreachable answer as ECONNREFUSED.
  if (options.connect) extra.push('--connect', 'yes');
  if (options.sourcePort !== undefined) extra.push('--sport', String(options.sourcePort));
  if (options.gapMs !== undefined) extra.push('--gap', String(options.gapMs));
  return (await runProbe<{ results: ProbeResult[] }>(from, 'udp', address, port, options, extra)).results;
}

export interface HoldSummary {
  connections: number;
  brokenAtStart: number;
  pings: number;
  pingFailures: number;
  closedEarly: number;
  newOk: number;
  newFailed: number;
  newErrors: Record<string, number>;
}

/**
 * Opens `connections` long-lived TCP connections and keeps them busy for `durationMs`
 * while also opening one new connection per round. Resolves with a handle once all are
 * established; `done` gives the summary when the time is up.
 */
export async function holdConnections(
  from: Host, address: string, port: number, options: { connections: number; intervalMs: number; durationMs: number },
): Promise<{ done: Promise<HoldSummary>; process: NetnsProcess }> {
  const proc = from.spawn([
    process.execPath, PROBE, 'hold', '--host', address, '--port', String(port), '--connections', String(options.connections),
    '--interval', String(options.intervalMs), '--duration', String(options.durationMs), '--timeout', '2000',
  ]);
  const established = await proc.waitFor(/^established /);
  if (established !== `established ${options.connections}`) throw new Error(`only ${established} of ${options.connections}`);
  const done = proc.exited().then(({ stdout, stderr, code }) => {
    const line = stdout.trim().split('\n').at(-1) ?? '';
    if (code !== 0) throw new Error(`probe hold failed (${code}): ${stderr}`);
    return JSON.parse(line) as HoldSummary;
  });
  return { done, process: proc };
}

/** Handshake times in milliseconds of `count` sequential connects. */
export async function connectLatencies(from: Host, address: string, port: number, count: number): Promise<{ samples: number[]; failures: number }> {
  return runProbe(from, 'latency', address, port, { count, timeoutMs: 1000 });
}

async function runProbe<T>(from: Host, mode: string, address: string, port: number, options: ProbeOptions, extra: string[] = []): Promise<T> {
  const argv = [process.execPath, PROBE, mode, '--host', address, '--port', String(port), '--count', String(options.count ?? 1),
    '--timeout', String(options.timeoutMs ?? 1500), ...extra];
  if (options.bind !== undefined) argv.push('--bind', options.bind);
  const { stdout } = await from.run(argv, { timeoutMs: 120_000 });
  return JSON.parse(stdout) as T;
}

/** How many results each server produced, e.g. {"pod-a1": 12, "pod-b1": 8}. */
export function tally(results: readonly ProbeResult[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const r of results) {
    const key = r.ok ? r.server : `error:${r.error}`;
    counts[key] = (counts[key] ?? 0) + 1;
  }
  return counts;
}
