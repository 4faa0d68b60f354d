/**
 * Command-line flags with environment fallbacks, as Kubernetes components take them:
 * `--name=value` or `--name value`, booleans as `--flag` or `--flag=false`, and each flag
 * readable from an environment variable (flags win). Errors are collected and returned,
 * never thrown, so main can print all of them at once and exit.
 */
export type FlagType = 'string' | 'bool' | 'int' | 'list' | 'duration';

export interface FlagSpec {
  type: FlagType;
  help: string;
  default?: string | number | boolean | readonly string[];
  /** Environment variable read when the flag is absent. */
  env?: string;
}

export type FlagValue = string | number | boolean | string[];
export type ParsedFlags = { ok: true; values: Record<string, FlagValue>; positional: string[] } | { ok: false; errors: string[] };

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

export function parseFlags(specs: Record<string, FlagSpec>, argv: readonly string[], env: Record<string, string | undefined>): ParsedFlags {
  const errors: string[] = [];
  const raw = new Map<string, string>();
  const positional: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (!arg.startsWith('--')) { positional.push(arg); continue; }
    const eq = arg.indexOf('=');
    const name = arg.slice(2, eq < 0 ? undefined : eq);
    const spec = specs[name];
    if (!spec) { errors.push(`unknown flag --${name}`); continue; }
    if (eq >= 0) raw.set(name, arg.slice(eq + 1));
    else if (spec.type === 'bool') raw.set(name, 'true');
    else if (i + 1 < argv.length) raw.set(name, argv[++i]!);
    else errors.push(`--${name} needs a value`);
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
  return errors.length > 0 ? { ok: false, errors } : { ok: true, values, positional };
}

/** `--help` text: one line per flag with its environment variable and default. */
export function flagUsage(specs: Record<string, FlagSpec>): string {
  return Object.entries(specs).map(([name, s]) => {
    const extra = [s.env ? `env ${s.env}` : '', s.default !== undefined && s.default !== '' ? `default ${Array.isArray(s.default) ? s.default.join(',') : String(s.default)}` : ''].filter(Boolean).join(', ');
    return `  --${name} (${s.type})  ${s.help}${extra ? ` [${extra}]` : ''}`;
  }).join('\n');
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

/** `host:port` (IPv6 hosts in brackets); an empty host means every address. */
export function hostPort(text: string): { host: string; port: number } | undefined {
  const colon = text.lastIndexOf(':');
  const port = Number(text.slice(colon + 1));
  if (colon < 0 || !Number.isInteger(port) || port < 0 || port > 65535) return undefined;
  return { host: text.slice(0, colon).replace(/^\[|\]$/g, '') || '0.0.0.0', port };
}
