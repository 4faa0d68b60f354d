import { familyOfValid, IP_FAMILIES } from '@natplan/netaddr';
import { conntrackDeleteEntries, conntrackListUdp } from '../exec/index.js';
import type { Exec, StaleUdpFlow, UdpConntrackEntry } from '../exec/index.js';

export interface StaleUdpCleanerOptions {
  /** Entries deleted per conntrack process (`conntrack -R -`); each costs ~20 ms. */
  readonly batchSize?: number;
  /** A conntrack process running longer than this is killed (exec's SIGKILL) and reaped. */
  readonly commandTimeoutMs?: number;
  /** How long a sync waits for its own cleanup before returning; the rest goes on in the background. */
  readonly waitMs?: number;
  /** Errors of cleanups that finished after their sync returned (for logs and metrics). */
  readonly onLateErrors?: (errors: readonly Error[]) => void;
}

export interface StaleUdpOutcome {
  /** Every batch ran (successfully or not) within the wait. */
  readonly finished: boolean;
  /** Failed batches so far; a late failure goes to `onLateErrors` instead. */
  readonly errors: readonly Error[];
}

export const DEFAULT_CONNTRACK_BATCH = 200;
export const DEFAULT_CONNTRACK_TIMEOUT_MS = 10_000;
export const DEFAULT_CONNTRACK_WAIT_MS = 2_000;

/**
 * Deletes the UDP flows NATed to endpoints the new rules no longer use. Runs only after
 * the commit: deleting earlier would let the next packet recreate the entry with the old
 * rules. Bounded so it can never hold up enforcement (issue 8, finding 4: one
 * `conntrack -D` per stale endpoint, ~40 ms each, awaited inside the sync, kept a
 * 20,000-endpoint rollout from being enforced or reported for minutes). Like kube-proxy,
 * it lists the UDP entries once per family and deletes only those that match, so the
 * cost follows the flows that exist, not the endpoints that left; deletions go in
 * batches of one process each, every process has a timeout (a hung one is killed and
 * reaped by exec), and a sync waits for its cleanup at most `waitMs`, the rest going on
 * in the background. Cleanups run one after another, in commit order.
 */
export class StaleUdpCleaner {
  private tail: Promise<unknown> = Promise.resolve();
  private readonly batchSize: number;
  private readonly commandTimeoutMs: number;
  private readonly waitMs: number;

  constructor(private readonly exec: Exec, private readonly options: StaleUdpCleanerOptions = {}) {
    this.batchSize = Math.max(1, options.batchSize ?? DEFAULT_CONNTRACK_BATCH);
    this.commandTimeoutMs = options.commandTimeoutMs ?? DEFAULT_CONNTRACK_TIMEOUT_MS;
    this.waitMs = options.waitMs ?? DEFAULT_CONNTRACK_WAIT_MS;
  }

  /** Queues the deletion of `flows`; resolves once it is done or after `waitMs`, whichever is first. */
  async clear(flows: readonly StaleUdpFlow[]): Promise<StaleUdpOutcome> {
    if (flows.length === 0) return { finished: true, errors: [] };
    const errors: Error[] = [];
    let returned = false;
    const fail = (error: unknown): void => {
      const e = error instanceof Error ? error : new Error(String(error));
      if (returned) this.options.onLateErrors?.([e]);
      else errors.push(e);
    };
    const job = this.tail.then(async () => {
      for (const family of IP_FAMILIES) {
        const wanted = flows.filter((f) => familyOfValid(f.address) === family);
        if (wanted.length === 0) continue;
        let doomed: UdpConntrackEntry[];
        try {
          doomed = staleEntries(await conntrackListUdp(this.exec, family, this.commandTimeoutMs), wanted);
        } catch (error) {
          fail(error);
          continue;
        }
        for (let i = 0; i < doomed.length; i += this.batchSize) {
          await conntrackDeleteEntries(this.exec, doomed.slice(i, i + this.batchSize), this.commandTimeoutMs).catch(fail);
        }
      }
    });
    this.tail = job;
    let timer: NodeJS.Timeout | undefined;
    const finished = await Promise.race([
      job.then(() => true),
      new Promise<boolean>((resolve) => { timer = setTimeout(() => resolve(false), this.waitMs); }),
    ]);
    clearTimeout(timer);
    returned = true;
    return { finished, errors: [...errors] };
  }

  /** Resolves when every queued cleanup has run (tests, shutdown). */
  async idle(): Promise<void> {
    await this.tail;
  }
}

/**
 * The entries a stale flow filter names: `reply-source` (default) matches entries answered
 * from address:port (NATed to that endpoint), narrowed to one frontend when given;
 * `original-destination` matches entries sent to address:port. Addresses compare as
 * text: conntrack prints them as inet_ntop does, the renderer's canonical form.
 */
export function staleEntries(entries: readonly UdpConntrackEntry[], flows: readonly StaleUdpFlow[]): UdpConntrackEntry[] {
  const key = (address: string, port: number): string => `${address}|${port}`;
  const replySources = new Set<string>();
  const paths = new Set<string>();
  const destinations = new Set<string>();
  for (const f of flows) {
    if (f.match === 'original-destination') destinations.add(key(f.address, f.port));
    else if (f.frontend) paths.add(`${key(f.frontend.address, f.frontend.port)}|${key(f.address, f.port)}`);
    else replySources.add(key(f.address, f.port));
  }
  return entries.filter((e) => {
    const reply = key(e.reply.src, e.reply.sport);
    const destination = key(e.original.dst, e.original.dport);
    return replySources.has(reply) || destinations.has(destination) || paths.has(`${destination}|${reply}`);
  });
}
