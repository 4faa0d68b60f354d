import { conntrackDeleteUdpBatch } from '../exec/index.js';
import type { Exec } from '../exec/index.js';
import type { StaleUdpEndpoint } from './types.js';

export interface StaleUdpCleanerOptions {
  /** Flows per conntrack process (`conntrack -R -`). */
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

export const DEFAULT_CONNTRACK_BATCH = 1000;
export const DEFAULT_CONNTRACK_TIMEOUT_MS = 10_000;
export const DEFAULT_CONNTRACK_WAIT_MS = 2_000;

/**
 * Deletes the UDP flows NATed to endpoints the new rules no longer use. Runs only after
 * the commit: deleting earlier would let the next packet recreate the entry with the old
 * rules. Bounded so it can never hold up enforcement (issue 8, finding 4: one process per
 * endpoint, awaited inside the sync, kept a 20,000-endpoint rollout from ever being
 * reported): flows go in batches of one process each, every process has a timeout, and a
 * sync waits for its cleanup at most `waitMs`. Cleanups run one after another, in commit
 * order.
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
  async clear(flows: readonly StaleUdpEndpoint[]): Promise<StaleUdpOutcome> {
    if (flows.length === 0) return { finished: true, errors: [] };
    const errors: Error[] = [];
    let returned = false;
    const job = this.tail.then(async () => {
      for (let i = 0; i < flows.length; i += this.batchSize) {
        try {
          await conntrackDeleteUdpBatch(this.exec, flows.slice(i, i + this.batchSize), this.commandTimeoutMs);
        } catch (error) {
          const e = error instanceof Error ? error : new Error(String(error));
          if (returned) this.options.onLateErrors?.([e]);
          else errors.push(e);
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
