import { ExecError } from './errors.js';
import type { ExecErrorKind } from './errors.js';
import type { Exec, ExecResult, ExecTarget, RunOptions } from './exec.js';

/** One command the code under test ran, with what it wrote to stdin. */
export interface ExecCall {
  readonly argv: readonly string[];
  readonly stdin: string;
  /** argv joined with spaces, convenient for assertions. */
  readonly command: string;
}

export type FakeOutcome = { readonly stdout?: string } | { readonly fail: ExecErrorKind; readonly stderr?: string };

interface Script {
  readonly match: (call: ExecCall) => boolean;
  readonly outcome: FakeOutcome;
  remaining: number;
}

/**
 * A scripted Exec for unit tests (knftables' Fake is the model, but ours fakes only the
 * process boundary: it records calls and returns what the test scripted, nothing more).
 * Unscripted commands succeed with empty output.
 */
export class FakeExec implements Exec {
  readonly calls: ExecCall[] = [];
  private readonly scripts: Script[] = [];

  constructor(readonly target: ExecTarget = { netns: 'fake' }) {}

  /** The next `times` commands matching `match` (a prefix of the command line, a RegExp
   * or a predicate) get `outcome`. Earlier scripts win over later ones. */
  on(match: string | RegExp | ((call: ExecCall) => boolean), outcome: FakeOutcome, times = Infinity): this {
    const predicate =
      typeof match === 'string' ? (c: ExecCall) => c.command.startsWith(match)
      : match instanceof RegExp ? (c: ExecCall) => match.test(c.command)
      : match;
    this.scripts.push({ match: predicate, outcome, remaining: times });
    return this;
  }

  async run(argv: readonly string[], options: RunOptions = {}): Promise<ExecResult> {
    const call: ExecCall = { argv: [...argv], stdin: options.stdin ?? '', command: argv.join(' ') };
    this.calls.push(call);
    const script = this.scripts.find((s) => s.remaining > 0 && s.match(call));
    if (script === undefined) return { stdout: '', stderr: '' };
    script.remaining -= 1;
    const outcome = script.outcome;
    if ('fail' in outcome) throw new ExecError(outcome.fail, argv, outcome.stderr ?? outcome.fail, 1);
    return { stdout: outcome.stdout ?? '', stderr: '' };
  }

  /** Calls whose command line starts with `prefix`. */
  callsTo(prefix: string): ExecCall[] {
    return this.calls.filter((c) => c.command.startsWith(prefix));
  }
}
