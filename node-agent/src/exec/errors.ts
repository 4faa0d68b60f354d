/**
 * The one place where the text of nft, iptables-restore, conntrack and `ip netns exec`
 * failures is interpreted. Callers branch on `kind`; nobody else matches stderr strings.
 */

export type ExecErrorKind =
  /** The object, namespace or flow named does not exist (e.g. `nft delete table` of an absent table). */
  | 'notFound'
  /** The object already exists (nft `add` of an element with the same key, `create table`). */
  | 'exists'
  /** The caller lacks CAP_NET_ADMIN, or the kernel refuses the operation. */
  | 'permission'
  /** The binary (nft, iptables-restore, conntrack, ip) is not installed. */
  | 'missingBinary'
  /** The input does not parse or the kernel rejects its contents: a renderer bug, never retried blindly. */
  | 'invalid'
  | 'other';

export class ExecError extends Error {
  override readonly name = 'ExecError';
  constructor(
    readonly kind: ExecErrorKind,
    /** The command as run, for logs; stdin is not repeated here. */
    readonly argv: readonly string[],
    /** The tool's own words, kept so a Degraded condition can quote them. */
    readonly stderr: string,
    readonly exitCode: number | null,
  ) {
    super(`${argv.join(' ')}: ${kind}${stderr ? `: ${firstLines(stderr)}` : ''}`);
  }
}

export function isExecError(error: unknown, kind?: ExecErrorKind): error is ExecError {
  return error instanceof ExecError && (kind === undefined || error.kind === kind);
}

// Order matters: `ip netns exec` reports a missing binary as "No such file or directory",
// which would otherwise read as notFound; syntax errors are checked before the generic
// errno texts because nft prints both for some mistakes.
const RULES: readonly [ExecErrorKind, RegExp][] = [
  ['missingBinary', /exec of "[^"]*" failed: No such file or directory|command not found|spawn \S+ ENOENT/],
  ['permission', /Operation not permitted|Permission denied|must be run as root|you must be root/i],
  ['invalid', /syntax error|unexpected|Could not parse|line \d+ failed|Bad argument|unknown option|Try `\S+ -h'|Invalid argument|Numerical result out of range/],
  ['exists', /File exists|already exists/],
  ['notFound', /No such file or directory|does not exist|does a matching rule exist|No chain\/target\/match by that name|0 flow entries have been deleted|Cannot open network namespace/],
];

/** Classifies a failed run from its stderr. An nft transaction that references an absent
 * object reads as `notFound`: the script did not fit the state it met, which for the
 * applier means "next sync is full", like any other failure. */
export function classifyFailure(stderr: string): ExecErrorKind {
  for (const [kind, pattern] of RULES) if (pattern.test(stderr)) return kind;
  return 'other';
}

function firstLines(text: string): string {
  const lines = text.trim().split('\n');
  return lines.length <= 3 ? lines.join(' | ') : `${lines.slice(0, 3).join(' | ')} | ...`;
}
