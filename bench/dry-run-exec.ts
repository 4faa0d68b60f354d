/**
 * The exec target of a hollow node (bench/hollow-nodes.ts): the agent's real applier
 * renders and diffs as always, and its commands end here instead of in a kernel. It
 * records each committed `nft -f` script with its arrival time, and answers the agent's
 * read-backs from what it was sent:
 *  - `nft -a -t list table F T`: the chains of that table with one `# handle N` line per
 *    rule, so the kernel check (nft-kernel-check.ts) counts the static chains' rules;
 *  - `nft list tables`: the tables created so far;
 *  - everything else (`nft --check`, iptables, conntrack): success with no output.
 * Its model of nft is only that bookkeeping of line-form commands (`add|flush|delete
 * table|chain`, `add|insert|delete rule`). A script in another form leaves chains empty,
 * so the agent's kernel check fails and the benchmark reports unconfirmed syncs instead of
 * figures.
 */
import type { Exec, ExecResult, ExecTarget, RunOptions } from '@natplan/node-agent/exec';

/** One committed script: when it arrived and what it said. */
export interface Commit {
  readonly at: number;
  readonly script: string;
}

export class DryRunExec implements Exec {
  /** `family table` -> chain -> rule count. */
  private readonly tables = new Map<string, Map<string, number>>();
  /** Called with every committed script (the benchmark looks for changed addresses). */
  onCommit: ((commit: Commit) => void) | undefined;
  commitCount = 0;
  commitBytes = 0;

  constructor(readonly target: ExecTarget) {}

  async run(argv: readonly string[], options: RunOptions = {}): Promise<ExecResult> {
    const command = argv.join(' ');
    if (command === 'nft -f -') {
      const commit = { at: Date.now(), script: options.stdin ?? '' };
      this.apply(commit.script);
      this.commitCount += 1;
      this.commitBytes += commit.script.length;
      this.onCommit?.(commit);
      return { stdout: '', stderr: '' };
    }
    if (command === 'nft list tables') return { stdout: [...this.tables.keys()].map((t) => `table ${t}\n`).join(''), stderr: '' };
    const listing = /^nft -a -t list table (\S+) (\S+)$/.exec(command);
    if (listing) return { stdout: this.listing(`${listing[1]} ${listing[2]}`), stderr: '' };
    return { stdout: '', stderr: '' };
  }

  private listing(table: string): string {
    let handle = 1;
    const chains = [...(this.tables.get(table) ?? new Map<string, number>())].map(([chain, rules]) =>
      `\tchain ${chain} { # handle ${handle++}\n${Array.from({ length: rules }, () => `\t\trule # handle ${handle++}\n`).join('')}\t}\n`);
    return `table ${table} { # handle 0\n${chains.join('')}}\n`;
  }

  private apply(script: string): void {
    for (const line of script.split('\n')) {
      const m = /^(add|flush|delete|insert|create) (table|chain|rule) (\S+) (\S+)(?: (\S+))?/.exec(line);
      if (!m) continue;
      const [, verb, kind, family, name, chain] = m;
      const table = `${family} ${name}`;
      if (kind === 'table') {
        if (verb === 'delete') this.tables.delete(table);
        else if (verb === 'flush') for (const c of this.tables.get(table)?.keys() ?? []) this.tables.get(table)!.set(c, 0);
        else if (!this.tables.has(table)) this.tables.set(table, new Map());
        continue;
      }
      const chains = this.tables.get(table);
      if (!chains || chain === undefined) continue;
      if (kind === 'chain') {
        if (verb === 'delete') chains.delete(chain);
        else if (verb === 'flush') chains.set(chain, 0);
        else if (!chains.has(chain)) chains.set(chain, 0);
      } else if (verb === 'delete') {
        chains.set(chain, Math.max(0, (chains.get(chain) ?? 0) - 1));
      } else {
        chains.set(chain, (chains.get(chain) ?? 0) + 1);
      }
    }
  }
}
