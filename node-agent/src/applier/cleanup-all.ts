import { isExecError } from '../exec/index.js';
import type { Exec, IptablesVariant } from '../exec/index.js';
import { createApplier } from './create.js';

export interface CleanupReport {
  /** Backends whose rules were removed (or were already absent). */
  readonly cleaned: readonly string[];
  /** Backends whose tools are not installed: nothing of ours can be there. */
  readonly skipped: readonly string[];
  readonly errors: readonly Error[];
}

/**
 * The `cleanup` command: removes everything any natplan agent may have installed, in
 * every backend, whichever one is in use now (a node may have switched backends).
 * A missing tool is not an error; anything else is reported and the rest still runs.
 */
export async function removeEverything(exec: Exec): Promise<CleanupReport> {
  const cleaned: string[] = [];
  const skipped: string[] = [];
  const errors: Error[] = [];
  const variants: IptablesVariant[] = ['default', 'legacy'];
  const targets = [
    { name: 'nftables', run: () => createApplier('nftables', exec).cleanup() },
    ...variants.map((variant) => ({
      name: variant === 'default' ? 'iptables' : 'iptables-legacy',
      run: () => createApplier('iptables', exec, { iptablesVariant: variant }).cleanup(),
    })),
  ];
  for (const target of targets) {
    try {
      await target.run();
      cleaned.push(target.name);
    } catch (error) {
      if (isExecError(error, 'missingBinary')) skipped.push(target.name);
      else errors.push(error instanceof Error ? error : new Error(String(error)));
    }
  }
  return { cleaned, skipped, errors };
}
