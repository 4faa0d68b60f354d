import { isExecError, nftApply } from '../exec/index.js';
import type { Exec } from '../exec/index.js';
import { TransactionalApplier } from './transactional-applier.js';
import { DEFAULT_MAX_ELEMENTS_PER_TRANSACTION } from './types.js';
import type { ApplierOptions, ApplyMode, NftScriptPort } from './types.js';

/**
 * nftables backend. Every sync is one `nft -f` transaction, which the kernel commits
 * whole or not at all, so a failed sync leaves the previous rules in place. The table is
 * never deleted to be recreated (that would drop the rules under live traffic for a
 * moment): a full sync rewrites the table's contents in the same transaction.
 */
export class NftApplier<I, R> extends TransactionalApplier<I, R> {
  readonly backend = 'nftables' as const;
  private readonly maxElements: number;
  private readonly timeoutMs: number | undefined;

  constructor(exec: Exec, private readonly scripts: NftScriptPort<I, R> & { size(ruleset: R): number }, options: ApplierOptions = {}) {
    super(exec, scripts, options);
    this.maxElements = options.maxElementsPerTransaction ?? DEFAULT_MAX_ELEMENTS_PER_TRANSACTION;
    this.timeoutMs = options.commandTimeoutMs;
  }

  protected async commitFull(desired: R, _input: I, previous: R | null): Promise<ApplyMode> {
    // Only a first load into an empty kernel is split: one transaction of 300k elements
    // holds the nfnetlink commit mutex for seconds. When our tables already exist (an
    // agent restart) the full sync stays one transaction: between chunks, Services that
    // live traffic uses would be missing, and that costs more than a long lock.
    if (previous === null && this.scripts.size(desired) > this.maxElements && !(await this.anyTableExists())) {
      for (const script of this.scripts.coldStartScripts(desired, this.maxElements)) await nftApply(this.exec, script, this.timeoutMs);
      return 'coldStart';
    }
    await nftApply(this.exec, this.scripts.fullSyncScript(desired, previous ?? undefined), this.timeoutMs);
    return 'full';
  }

  /** Runs once per start and only for a large ruleset: nft 1.0.6 fills its whole cache
   * even to list table names (~1 s with 5k Services loaded). */
  private async anyTableExists(): Promise<boolean> {
    const { stdout } = await this.exec.run(['nft', 'list', 'tables']);
    const present = new Set(stdout.split('\n').map((line) => line.replace(/^table\s+/, '').trim()));
    return this.scripts.tables.some((table) => present.has(table));
  }

  protected async commitIncremental(committed: R, desired: R): Promise<ApplyMode> {
    const script = this.scripts.incrementalScript(committed, desired);
    if (script === null) return 'unchanged';
    await nftApply(this.exec, script, this.timeoutMs);
    return 'incremental';
  }

  protected async removeAll(): Promise<void> {
    try {
      await nftApply(this.exec, this.scripts.cleanupScript(), this.timeoutMs);
    } catch (error) {
      if (!isExecError(error, 'notFound')) throw error;
    }
  }
}
