/**
 * Command-line flags with environment fallbacks, as Kubernetes components take them:
 * `--name=value` or `--name value`, booleans as `--flag` or `--flag=false`, and each flag
 * readable from an environment variable (flags win). Errors are collected and returned,
 * never thrown, so main can print all of them at once and exit with code 2.
 */
import { parseArgs, type ParseArgsConfig } from 'node:util';

export type FlagType = 'string' | 'bool' | 'int' | 'list' | 'duration';

export interface FlagSpec {
  type: FlagType;
  help: string;
  default?: string | number | boolean | readonly string[];
  /** Environment variable read when the flag is absent. */
  env?: string;
}

export type FlagValue = string | number | boolean | string[];
export type ParsedFlags = { ok: true; values: Record<string, FlagValue> } | { ok: false; errors: string[] };

const DURATION = /^(\d+(?:\.\d+)?)(ms|s|m|h)$/;
const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** "1s" -> 1000, "5m" -> 300000 (milliseconds). */
export function parseDuration(text: string): number | undefined {
  const m = DURATION.exec(text.trim());
  return m ? Number(m[1]) * UNIT_MS[m[2]!]! : undefined;
}

function convert(name: string, spec: FlagSpec, raw: string, errors: string[]): FlagValue | undefined {
  switch (spec.type) {
    case 'string': return raw;
    case 'bool':
      if (raw === 'true' || raw === '') return true;
      if (raw === 'false') return false;
      errors.push(`--${name}: ${JSON.stringify(raw)} is not true or false`);
      return undefined;
    case 'int': {
      const n = Number(raw);
      if (Number.isInteger(n)) return n;
      errors.push(`--${name}: ${JSON.stringify(raw)} is not an integer`);
      return undefined;
    }
    case 'list': return raw.split(',').map((s) => s.trim()).filter(Boolean);
    case 'duration': {
      const ms = parseDuration(raw);
      if (ms !== undefined) return ms;
      errors.push(`--${name}: ${JSON.stringify(raw)} is not a duration like 500ms, 1s, 5m`);
      return undefined;
    }
  }
}

/** `-h`, `--help` and `--version` are understood by every command, before any other check. */
export type CommandRequest = 'help' | 'version' | undefined;

/** A help or version request anywhere before a `--` terminator (so `--help` wins over a bad flag). */
export function commandRequest(argv: readonly string[]): CommandRequest {
  for (const arg of argv) {
    if (arg === '--') return undefined;
    if (arg === '-h' || arg === '--help') return 'help';
    if (arg === '--version') return 'version';
  }
  return undefined;
}

/** Options for `node:util` parseArgs: booleans take no separate value, everything else one. */
function parseArgsOptions(specs: Record<string, FlagSpec>): ParseArgsConfig['options'] {
  return Object.fromEntries(Object.entries(specs).map(([name, spec]) => [name, { type: spec.type === 'bool' ? 'boolean' : 'string' } as const]));
}

/**
 * Strict: an unknown flag, a single-dash long flag (`-mode=complement`, which Go's flag
 * package would take but pflag and Kubernetes components do not) and a stray argument are
 * errors, never silently ignored. parseArgs runs non-strict only so that every error is
 * collected (strict mode throws at the first) and `--flag=false` stays a boolean's value.
 */
export function parseFlags(specs: Record<string, FlagSpec>, argv: readonly string[], env: Record<string, string | undefined>): ParsedFlags {
  const errors: string[] = [];
  const raw = new Map<string, string>();
  const { tokens } = parseArgs({ args: [...argv], options: parseArgsOptions(specs), strict: false, allowPositionals: true, tokens: true });
  const reportedArgs = new Set<number>();
  for (const token of tokens) {
    if (token.kind === 'option-terminator') continue;
    if (token.kind === 'positional') {
      errors.push(`unexpected argument ${JSON.stringify(token.value)}`);
      continue;
    }
    if (!token.rawName.startsWith('--')) {
      // parseArgs splits `-mode=x` into short options -m -o -d ...; report the argument once.
      if (reportedArgs.has(token.index)) continue;
      reportedArgs.add(token.index);
      const arg = argv[token.index]!;
      const long = arg.replace(/^-/, '--').split('=')[0]!;
      errors.push(specs[long.slice(2)] ? `${arg}: long flags take two dashes (${arg.replace(/^-/, '--')})` : `unknown flag ${arg}`);
      continue;
    }
    const spec = specs[token.name];
    if (!spec) { errors.push(`unknown flag --${token.name}`); continue; }
    if (spec.type === 'bool') raw.set(token.name, token.value ?? 'true');
    // `--kubeconfig --mode=x` is a forgotten value, not a file named "--mode=x".
    else if (token.value === undefined || (!token.inlineValue && token.value.startsWith('-'))) errors.push(`--${token.name} needs a value`);
    else raw.set(token.name, token.value);
  }
  const values: Record<string, FlagValue> = {};
  for (const [name, spec] of Object.entries(specs)) {
    const text = raw.get(name) ?? (spec.env ? env[spec.env] : undefined);
    if (text !== undefined) {
      const value = convert(name, spec, text, errors);
      if (value !== undefined) values[name] = value;
    } else if (spec.default !== undefined) {
      const d = spec.default;
      values[name] = spec.type === 'duration' && typeof d === 'string' ? (parseDuration(d) ?? 0) : Array.isArray(d) ? [...d] : (d as FlagValue);
    }
  }
  return errors.length > 0 ? { ok: false, errors } : { ok: true, values };
}

/** `--help` text: one line per flag with its environment variable and default. */
export function flagUsage(specs: Record<string, FlagSpec>): string {
  return Object.entries(specs).map(([name, s]) => {
    const extra = [s.env ? `env ${s.env}` : '', s.default !== undefined && s.default !== '' ? `default ${Array.isArray(s.default) ? s.default.join(',') : String(s.default)}` : ''].filter(Boolean).join(', ');
    return `  --${name} (${s.type})  ${s.help}${extra ? ` [${extra}]` : ''}`;
  }).concat('  -h, --help  this text', '  --version  print the natplan version').join('\n');
}

/** What a command prints about itself: its name, one sentence, its flags. */
export interface CommandInfo { name: string; summary: string; flags: Record<string, FlagSpec> }

/**
 * Answers `-h`/`--help`/`--version` on stdout; true when the command should stop there
 * (exit code 0).
 */
export function answerCommandRequest(command: CommandInfo, argv: readonly string[], version: string, print: (text: string) => void = console.log): boolean {
  const request = commandRequest(argv);
  if (request === 'version') print(`natplan ${version}`);
  if (request === 'help') print(`${command.name}: ${command.summary}\n\n${flagUsage(command.flags)}`);
  return request !== undefined;
}

/** Exit code of a command line that cannot be run (the convention of Go's flag package and pflag). */
export const USAGE_EXIT_CODE = 2;

/** Every flag error of a command on one line, with where to look. */
export function flagErrorLine(command: string, errors: readonly string[]): string {
  return `${command}: ${errors.join('; ')} (see ${command} --help)`;
}

/** Typed reads of parsed values (flags with defaults are always present). */
export function flagReader(values: Record<string, FlagValue>) {
  return {
    string: (name: string): string => String(values[name] ?? ''),
    bool: (name: string): boolean => values[name] === true,
    number: (name: string): number => Number(values[name] ?? 0),
    list: (name: string): string[] => (Array.isArray(values[name]) ? [...(values[name] as string[])] : []),
  };
}
