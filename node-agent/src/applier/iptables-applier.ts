import { iptables, iptablesRestore, iptablesSave, isExecError } from '../exec/index.js';
import type { Exec, IptablesVariant, RestoreOptions } from '../exec/index.js';
import { IP_FAMILIES as FAMILIES, type IPFamily } from '@natplan/netaddr';
import { checkInput, failedLine, markerChain, withMarker } from './iptables-kernel-check.js';
import { chainChanges, chainsText, fullChanges, restoreText } from './iptables-restore-text.js';
import { TransactionalApplier } from './transactional-applier.js';
import type { ApplierOptions, ApplyMode, IptablesChains, IptablesPort, KernelCheck, PerFamily } from './types.js';

/** Bound on deleting duplicated hook jumps at cleanup (someone may have added copies). */
const MAX_JUMP_COPIES = 16;
/** The kernel check is a few dozen rule lookups; slower means the tool is stuck. */
const CHECK_TIMEOUT_MS = 10_000;

/**
 * iptables backend for hosts without nftables. Each family's input is one
 * iptables-restore run with --noflush: declaring our chains flushes just them, everyone
 * else's rules stay. The jumps from built-in chains into ours are ensured with
 * `iptables -C || -I` on every full sync, which is also how a flushed PREROUTING is repaired.
 *
 * There is no element-level delta in iptables, but there are chains: the port renders
 * each sync's chains once, and a change restores only the chains whose rules differ from
 * the last commit and deletes those gone (iptables-restore-text.ts); a full sync (start,
 * failure, repair) writes them all and deletes stale ones found by iptables-save. IPv4
 * goes first; if IPv6 then fails, the next sync is full and rewrites both. Each restore
 * carries a marker rule with its sequence number, which the kernel check looks for
 * (iptables-kernel-check.ts).
 */
export class IptablesApplier<I, R> extends TransactionalApplier<I, R> {
  readonly backend = 'iptables' as const;
  /** The chains last committed, per family; null when unknown (the next sync is full). */
  private committedChains: PerFamily<IptablesChains> | null = null;
  private readonly variant: IptablesVariant;
  private readonly restoreOptions: RestoreOptions;
  /** Sequence number of each family's last restore (0: none yet). */
  private sequence: PerFamily<number> = { IPv4: 0, IPv6: 0 };
  private lastSequence = 0;

  constructor(exec: Exec, private readonly restore: IptablesPort<I, R>, options: ApplierOptions = {}) {
    super(exec, restore, options);
    this.variant = options.iptablesVariant ?? 'default';
    this.restoreOptions = { noflush: true, variant: this.variant, ...(options.commandTimeoutMs ? { timeoutMs: options.commandTimeoutMs } : {}) };
  }

  protected async commitFull(desired: R): Promise<ApplyMode> {
    this.committedChains = null;
    const existing = await this.listChains();
    const chains = this.restore.chains(desired);
    // The marker chain is redeclared by every restore; left in, it would be deleted as stale.
    const marker = markerChain(this.restore.chainPrefix);
    for (const family of FAMILIES) {
      const stale = new Map([...existing[family]].map(([table, names]) => [table, names.filter((c) => c !== marker)]));
      await this.restoreMarked(family, restoreText(chains[family], fullChanges(chains[family], stale)));
    }
    for (const family of FAMILIES) await this.ensureJumps(family);
    this.committedChains = chains;
    return 'full';
  }

  protected async commitIncremental(_committed: R, desired: R): Promise<ApplyMode> {
    const previous = this.committedChains;
    if (previous === null) throw new Error('iptables applier: incremental sync without a committed state');
    const next = this.restore.chains(desired);
    this.committedChains = null; // unknown until every family is in
    let wrote = false;
    for (const family of FAMILIES) {
      const changes = chainChanges(previous[family], next[family]);
      if (!changes) continue;
      await this.restoreMarked(family, restoreText(next[family], changes));
      wrote = true;
    }
    this.committedChains = next;
    return wrote ? 'incremental' : 'unchanged';
  }

  protected async checkKernel(): Promise<KernelCheck> {
    const committed = this.committedChains;
    if (committed === null) return { confirmed: false, problem: 'no committed state to check' };
    for (const family of FAMILIES) {
      const input = checkInput(chainsText(committed[family], this.restore.staticChains), {
        prefix: this.restore.chainPrefix, sequence: this.sequence[family], staticChains: this.restore.staticChains, jumps: this.restore.hookJumps(),
      });
      try {
        await iptablesRestore(this.exec, family, input, { ...this.restoreOptions, timeoutMs: CHECK_TIMEOUT_MS });
      } catch (error) {
        const stderr = isExecError(error) ? error.stderr : String(error);
        const missing = failedLine(input, stderr);
        return {
          confirmed: false,
          problem: missing
            ? `the kernel no longer holds the last commit: ${family} rule missing: ${missing.replace(/^-C /, '')}`
            : `kernel check failed (${family}): ${stderr.trim().split('\n').slice(0, 2).join(' | ').slice(0, 300)}`,
        };
      }
    }
    return { confirmed: true };
  }

  private async restoreMarked(family: IPFamily, text: string): Promise<void> {
    const sequence = this.lastSequence + 1;
    await iptablesRestore(this.exec, family, withMarker(text, this.restore.chainPrefix, sequence), this.restoreOptions);
    this.lastSequence = sequence;
    this.sequence = { ...this.sequence, [family]: sequence };
  }

  protected async removeAll(): Promise<void> {
    this.committedChains = null;
    for (const family of FAMILIES) {
      for (const jump of this.restore.hookJumps()) {
        for (let copy = 0; copy < MAX_JUMP_COPIES && (await this.jumpExists(family, jump)); copy += 1) {
          await iptables(this.exec, family, ['-t', jump.table, '-D', jump.chain, ...jump.args], this.variant);
        }
      }
      const existing = await this.listChains();
      const flat = { IPv4: [...existing.IPv4.values()].flat(), IPv6: [...existing.IPv6.values()].flat() };
      await iptablesRestore(this.exec, family, this.restore.cleanupInput(flat)[family], this.restoreOptions);
    }
  }

  private async ensureJumps(family: IPFamily): Promise<void> {
    for (const jump of this.restore.hookJumps()) {
      if (!(await this.jumpExists(family, jump))) await iptables(this.exec, family, ['-t', jump.table, '-I', jump.chain, ...jump.args], this.variant);
    }
  }

  private async jumpExists(family: IPFamily, jump: { table: string; chain: string; args: readonly string[] }): Promise<boolean> {
    try {
      await iptables(this.exec, family, ['-t', jump.table, '-C', jump.chain, ...jump.args], this.variant);
      return true;
    } catch (error) {
      // -C exits 1 for an absent rule, and also when our chain does not exist yet.
      if (isExecError(error, 'notFound') || isExecError(error, 'invalid')) return false;
      throw error;
    }
  }

  /** Our chains per family and table, from iptables-save (only on full syncs and cleanup). */
  private async listChains(): Promise<PerFamily<ReadonlyMap<string, readonly string[]>>> {
    const chains = async (family: IPFamily): Promise<Map<string, string[]>> => {
      const found = new Map<string, string[]>();
      for (const table of this.restore.tables) {
        found.set(table, declaredChains(await iptablesSave(this.exec, family, table, this.variant)).filter((c) => c.startsWith(this.restore.chainPrefix)));
      }
      return found;
    };
    return { IPv4: await chains('IPv4'), IPv6: await chains('IPv6') };
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
