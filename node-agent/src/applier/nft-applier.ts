import { isExecError, nftApply } from '../exec/index.js';
import type { Exec } from '../exec/index.js';
import { checkScript, markerCondition, readHandles, runCheck, withMarker, type RuleHandles } from './nft-kernel-check.js';
import { TransactionalApplier } from './transactional-applier.js';
import { DEFAULT_MAX_ELEMENTS_PER_TRANSACTION } from './types.js';
import type { ApplierOptions, ApplyMode, KernelCheck, NftScriptPort } from './types.js';

/** The kernel check must be quick; a slower one means nft is stuck and proves nothing. */
const CHECK_TIMEOUT_MS = 10_000;

/**
 * nftables backend. Every sync is one `nft -f` transaction, which the kernel commits
 * whole or not at all, so a failed sync leaves the previous rules in place; the one
 * exception is a large first load into a kernel without our tables, split in
 * commitFull (applier.int.test.ts, "loads a large first ruleset in chunks"). The table is
 * never deleted to be recreated (that would drop the rules under live traffic for a
 * moment): a full sync rewrites the table's contents in the same transaction. Every
 * commit ends with a marker (nft-kernel-check.ts), so a check can tell it is still in,
 * and an incremental commit starts by deleting the last one's: the kernel takes a diff
 * only on top of the commit it was computed against (a flushed, deleted or replaced
 * table refuses it), which spares the check before it.
 */
export class NftApplier<I, R> extends TransactionalApplier<I, R> {
  readonly backend = 'nftables' as const;
  private readonly maxElements: number;
  private readonly timeoutMs: number | undefined;
  /** Sequence number of the last commit; its marker is in the kernel if the commit is. */
  private sequence = 0;
  /** Handles of the static chains' rules, or undefined when they must be read again. */
  private handles: RuleHandles | undefined;
  /** The static chains' rules as committed, to tell when a commit rewrote them. */
  private skeletonRules = '';

  constructor(exec: Exec, private readonly scripts: NftScriptPort<I, R> & { size(ruleset: R): number }, options: ApplierOptions = {}) {
    super(exec, scripts, options);
    this.maxElements = options.maxElementsPerTransaction ?? DEFAULT_MAX_ELEMENTS_PER_TRANSACTION;
    this.timeoutMs = options.commandTimeoutMs;
  }

  protected async commitFull(desired: R, _input: I, previous: R | null): Promise<ApplyMode> {
    this.handles = undefined;
    // Only a first load into an empty kernel is split: one transaction of 300k elements
    // holds the nfnetlink commit mutex for seconds. When our tables already exist (an
    // agent restart) the full sync stays one transaction: between chunks, Services that
    // live traffic uses would be missing, and that costs more than a long lock.
    if (previous === null && this.scripts.size(desired) > this.maxElements && !(await this.anyTableExists())) {
      const scripts = this.scripts.coldStartScripts(desired, this.maxElements);
      const sequence = this.sequence + 1;
      // The marker goes with the last chunk: it says the whole load is in.
      for (const [i, script] of scripts.entries()) await this.commit(i === scripts.length - 1 ? this.marked(script, sequence) : script);
      this.sequence = sequence;
      return 'coldStart';
    }
    await this.commitMarked(this.scripts.fullSyncScript(desired, previous ?? undefined));
    return 'full';
  }

  /** Runs once per start and only for a large ruleset: nft 1.0.6 fills its whole cache
   * even to list table names (1.3 s with 5k Services loaded, under load:
   * `npx tsx bench/kernel-check.ts 5000`). */
  private async anyTableExists(): Promise<boolean> {
    const { stdout } = await this.exec.run(['nft', 'list', 'tables']);
    const present = new Set(stdout.split('\n').map((line) => line.replace(/^table\s+/, '').trim()));
    return this.scripts.tables.some((table) => present.has(table));
  }

  /** The incremental transaction deletes the last commit's marker element, so nft refuses it whole unless that commit is still in. */
  protected override readonly incrementalCommitProvesBase = true;

  protected async commitIncremental(committed: R, desired: R): Promise<ApplyMode> {
    const script = this.scripts.incrementalScript(committed, desired);
    if (script === null) return 'unchanged';
    await this.commitMarked(`${markerCondition(this.scripts.tables[0] ?? '', this.sequence)}${script}`);
    return 'incremental';
  }

  protected async checkKernel(committed: R): Promise<KernelCheck> {
    const skeleton = this.scripts.skeleton(committed);
    // A commit that rewrote a static chain gave its rules new handles.
    const rules = JSON.stringify(skeleton.chains);
    if (rules !== this.skeletonRules) this.handles = undefined;
    if (!this.handles) {
      const read = await readHandles(this.exec, skeleton, CHECK_TIMEOUT_MS);
      if ('problem' in read) return { confirmed: false, problem: `the kernel no longer holds the last commit: ${read.problem}` };
      this.handles = read.handles;
      this.skeletonRules = rules;
    }
    const markerTable = this.scripts.tables[0] ?? '';
    return runCheck(this.exec, checkScript(skeleton, this.handles, markerTable, this.sequence), CHECK_TIMEOUT_MS);
  }

  private marked(script: string, sequence: number): string {
    return withMarker(script, this.scripts.tables[0] ?? '', sequence);
  }

  private async commitMarked(script: string): Promise<void> {
    const sequence = this.sequence + 1;
    await this.commit(this.marked(script, sequence));
    this.sequence = sequence;
  }

  private commit(script: string): Promise<void> {
    return nftApply(this.exec, script, this.timeoutMs);
  }

  protected async removeAll(): Promise<void> {
    try {
      await nftApply(this.exec, this.scripts.cleanupScript(), this.timeoutMs);
    } catch (error) {
      if (!isExecError(error, 'notFound')) throw error;
    }
  }
}
