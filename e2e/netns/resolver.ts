import { fileURLToPath } from 'node:url';
import type { Host, NetnsProcess } from './topology.js';

const RESOLVER = fileURLToPath(new URL('./resolver.mjs', import.meta.url));

export interface ResolverOptions {
  /** Milliseconds between queries (default 20). */
  readonly intervalMs?: number;
  /** Milliseconds before an unanswered attempt is resent (default 300). */
  readonly timeoutMs?: number;
  /** Attempts per query, the first included (default 3). */
  readonly attempts?: number;
  /** One shared socket on this source port instead of a fresh port per query. */
  readonly sourcePort?: number;
}

export interface ResolverSummary {
  queries: number;
  answered: number;
  unanswered: number;
  /** Queries answered only after a resend. */
  retried: number;
  /** Attempts that got no answer (timeout or ICMP error). */
  attemptsLost: number;
  byServer: Record<string, number>;
  errors: Record<string, number>;
}

export interface Answer { query: number; server: string; attempt: number }

/** A running resolver-like client (resolver.mjs): queries until `stop`. */
export interface Resolver {
  /** Answers so far, in the order they came. */
  answers(): Answer[];
  /** Resolves once `count` more answers than now have come (rejects after `timeoutMs`). */
  waitForMoreAnswers(count: number, timeoutMs?: number): Promise<void>;
  /** Stops sending, lets outstanding queries finish or give up, and summarises. */
  stop(): Promise<ResolverSummary>;
  readonly process: NetnsProcess;
}

export async function startResolver(from: Host, address: string, port: number, options: ResolverOptions = {}): Promise<Resolver> {
  const argv = [process.execPath, RESOLVER, '--host', address, '--port', String(port),
    '--interval', String(options.intervalMs ?? 20), '--timeout', String(options.timeoutMs ?? 300), '--attempts', String(options.attempts ?? 3)];
  if (options.sourcePort !== undefined) argv.push('--sport', String(options.sourcePort));
  const proc = from.spawn(argv);
  await proc.waitFor(/^ready$/);
  const answers = (): Answer[] => proc.output().split('\n').filter((l) => l.startsWith('ok ')).map((l) => {
    const [, query, server, attempt] = l.split(' ');
    return { query: Number(query), server: server ?? '', attempt: Number(attempt) };
  });
  return {
    process: proc,
    answers,
    waitForMoreAnswers: async (count, timeoutMs = 10_000) => {
      const target = answers().length + count;
      const deadline = Date.now() + timeoutMs;
      while (answers().length < target) {
        if (Date.now() > deadline) throw new Error(`resolver: ${answers().length} of ${target} answers after ${timeoutMs} ms`);
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    },
    stop: async () => {
      proc.child.kill('SIGTERM');
      const { code, stdout, stderr } = await proc.exited();
      if (code !== 0) throw new Error(`resolver exited ${code}: ${stderr}`);
      return JSON.parse(stdout.trim().split('\n').at(-1) ?? '') as ResolverSummary;
    },
  };
}
