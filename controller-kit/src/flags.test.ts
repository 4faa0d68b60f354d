import { describe, expect, it } from 'vitest';
import { parseDuration, parseFlags, type FlagSpec } from './flags.js';

const specs: Record<string, FlagSpec> = {
  mode: { type: 'string', help: 'mode', default: 'replace', env: 'X_MODE' },
  'leader-elect': { type: 'bool', help: 'le', default: true },
  verbose: { type: 'bool', help: 'v', default: false },
  parts: { type: 'int', help: 'n', default: 100 },
  cidrs: { type: 'list', help: 'c', default: [], env: 'X_CIDRS' },
  period: { type: 'duration', help: 'p', default: '1s' },
};

describe('parseFlags', () => {
  it.each([
    [[], {}, { mode: 'replace', 'leader-elect': true, verbose: false, parts: 100, cidrs: [], period: 1000 }],
    [['--mode=complement', '--verbose', '--leader-elect=false', '--parts', '7', '--cidrs=10.0.0.0/8, fd00::/8', '--period=5m'], {},
      { mode: 'complement', 'leader-elect': false, verbose: true, parts: 7, cidrs: ['10.0.0.0/8', 'fd00::/8'], period: 300_000 }],
    [[], { X_MODE: 'complement', X_CIDRS: '192.0.2.0/24' }, { mode: 'complement', cidrs: ['192.0.2.0/24'] }],
    [['--mode=replace'], { X_MODE: 'complement' }, { mode: 'replace' }],
  ])('%j with env %j', (argv, env, expected) => {
    const r = parseFlags(specs, argv, env);
    expect(r.ok).toBe(true);
    if (r.ok) expect(r.values).toMatchObject(expected);
  });

  it('collects every error instead of stopping at the first', () => {
    const r = parseFlags(specs, ['--nope', '--parts=x', '--period=soon', '--verbose=maybe', '--mode'], {});
    expect(r).toEqual({ ok: false, errors: ['unknown flag --nope', '--mode needs a value', '--verbose: "maybe" is not true or false', '--parts: "x" is not an integer', '--period: "soon" is not a duration like 500ms, 1s, 5m'] });
  });

  it('keeps positional arguments', () => {
    const r = parseFlags(specs, ['agent', '--verbose', 'extra'], {});
    expect(r.ok && r.positional).toEqual(['agent', 'extra']);
  });

  it.each([['500ms', 500], ['1s', 1000], ['1.5s', 1500], ['5m', 300_000], ['1h', 3_600_000], ['5', undefined], ['s', undefined]])('duration %s', (text, ms) => {
    expect(parseDuration(text)).toBe(ms);
  });
});
