import { iptables, iptablesRestore, iptablesSave, isExecError } from '../exec/index.js';
import type { Exec, IpFamily, IptablesVariant, RestoreOptions } from '../exec/index.js';
import { TransactionalApplier } from './transactional-applier.js';
import type { ApplierOptions, ApplyMode, IptablesPort, PerFamily } from './types.js';

const FAMILIES: readonly [keyof PerFamily<unknown>, IpFamily][] = [['ipv4', 4], ['ipv6', 6]];
const NONE: PerFamily<readonly string[]> = { ipv4: [], ipv6: [] };
/** Bound on deleting duplicated hook jumps at cleanup (someone may have added copies). */
const MAX_JUMP_COPIES = 16;

/**
 * iptables backend for hosts without nftables. Each family's input is one
 * iptables-restore run with --noflush: declaring our chains flushes just them, everyone
 * else's rules stay. The jumps from built-in chains into ours are ensured with
 * `iptables -C || -I` on every full sync, which is also how a flushed PREROUTING is repaired.
 *
 * There is no element-level delta in iptables: a change rewrites our chains whole (the
 * benchmark shows what that costs); an unchanged family is skipped. IPv4 goes first; if
 * IPv6 then fails, the next sync is full and rewrites both.
 */
export class IptablesApplier<I, R> extends TransactionalApplier<I, R> {
  readonly backend = 'iptables' as const;
  /** Restore input last committed, rendered without stale chains (so it compares by content). */
  private committedText: PerFamily<string> | null = null;
  private readonly variant: IptablesVariant;
  private readonly restoreOptions: RestoreOptions;

  constructor(exec: Exec, private readonly restore: IptablesPort<I, R>, options: ApplierOptions = {}) {
    super(exec, restore, options);
    this.variant = options.iptablesVariant ?? 'default';
    this.restoreOptions = { noflush: true, variant: this.variant, ...(options.commandTimeoutMs ? { timeoutMs: options.commandTimeoutMs } : {}) };
  }

  protected async commitFull(_desired: R, input: I): Promise<ApplyMode> {
    this.committedText = null;
    const existing = await this.listChains();
    const text = this.restore.restoreInput(input, existing);
    for (const [key, family] of FAMILIES) await iptablesRestore(this.exec, family, text[key], this.restoreOptions);
    for (const [, family] of FAMILIES) await this.ensureJumps(family);
    this.committedText = this.restore.restoreInput(input, NONE);
    return 'full';
  }

  protected async commitIncremental(_committed: R, _desired: R, input: I): Promise<ApplyMode> {
    const previous = this.committedText;
    const next = this.restore.restoreInput(input, NONE);
    if (previous === null) throw new Error('iptables applier: incremental sync without a committed state');
    this.committedText = null; // unknown until every family is in
    let wrote = false;
    for (const [key, family] of FAMILIES) {
      if (previous[key] === next[key]) continue;
      const wanted = new Set(declaredChains(next[key]));
      const gone = declaredChains(previous[key]).filter((chain) => !wanted.has(chain));
      // Only when chains disappear does the input need the stale list (to delete them).
      const text = gone.length === 0 ? next[key] : this.restore.restoreInput(input, { ...NONE, [key]: gone })[key];
      await iptablesRestore(this.exec, family, text, this.restoreOptions);
      wrote = true;
    }
    this.committedText = next;
    return wrote ? 'incremental' : 'unchanged';
  }

  protected async removeAll(): Promise<void> {
    this.committedText = null;
    for (const [key, family] of FAMILIES) {
      for (const jump of this.restore.hookJumps()) {
        for (let copy = 0; copy < MAX_JUMP_COPIES && (await this.jumpExists(family, jump)); copy += 1) {
          await iptables(this.exec, family, ['-t', jump.table, '-D', jump.chain, ...jump.args], this.variant);
        }
      }
      const existing = await this.listChains();
      await iptablesRestore(this.exec, family, this.restore.cleanupInput(existing)[key], this.restoreOptions);
    }
  }

  private async ensureJumps(family: IpFamily): Promise<void> {
    for (const jump of this.restore.hookJumps()) {
      if (!(await this.jumpExists(family, jump))) await iptables(this.exec, family, ['-t', jump.table, '-I', jump.chain, ...jump.args], this.variant);
    }
  }

  private async jumpExists(family: IpFamily, jump: { table: string; chain: string; args: readonly string[] }): Promise<boolean> {
    try {
      await iptables(this.exec, family, ['-t', jump.table, '-C', jump.chain, ...jump.args], this.variant);
      return true;
    } catch (error) {
      // -C exits 1 for an absent rule, and also when our chain does not exist yet.
      if (isExecError(error, 'notFound') || isExecError(error, 'invalid')) return false;
      throw error;
    }
  }

  /** Our chains per family, from iptables-save (only on full syncs and cleanup). */
  private async listChains(): Promise<PerFamily<readonly string[]>> {
    const chains = async (family: IpFamily): Promise<string[]> => {
      const found: string[] = [];
      for (const table of this.restore.tables) {
        found.push(...declaredChains(await iptablesSave(this.exec, family, table, this.variant)).filter((c) => c.startsWith(this.restore.chainPrefix)));
      }
      return found;
    };
    return { ipv4: await chains(4), ipv6: await chains(6) };
  }
}

/** Chain names declared (`:NAME POLICY [counters]`) in iptables-save or restore text. */
export function declaredChains(text: string): string[] {
  const out: string[] = [];
  for (const line of text.split('\n')) {
    if (line.startsWith(':')) out.push(line.slice(1).split(' ')[0] ?? '');
  }
  return out;
}
