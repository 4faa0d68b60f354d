import { describe, expect, it } from 'vitest';
import { answerCommandRequest, commandRequest, flagErrorLine, parseDuration, parseFlags, type FlagSpec } from './flags.js';

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

  it.each([
    // Go's flag package would take -mode=complement; here it must not vanish silently.
    [['-mode=complement'], '-mode=complement: long flags take two dashes (--mode=complement)'],
    [['-verbose'], '-verbose: long flags take two dashes (--verbose)'],
    [['-x'], 'unknown flag -x'],
    [['--nope=1'], 'unknown flag --nope'],
    [['extra'], 'unexpected argument "extra"'],
    [['--', '--mode=x'], 'unexpected argument "--mode=x"'],
    // A forgotten value must not swallow the next flag.
    [['--mode', '--verbose'], '--mode needs a value'],
  ])('%j is an error: %s', (argv, error) => {
    expect(parseFlags(specs, argv, {})).toEqual({ ok: false, errors: [error] });
  });

  it('takes a value starting with a dash when written inline', () => {
    const r = parseFlags(specs, ['--mode=-odd'], {});
    expect(r.ok && r.values.mode).toBe('-odd');
  });

  it.each([['500ms', 500], ['1s', 1000], ['1.5s', 1500], ['5m', 300_000], ['1h', 3_600_000], ['5', undefined], ['s', undefined]])('duration %s', (text, ms) => {
    expect(parseDuration(text)).toBe(ms);
  });
});

describe('help and version', () => {
  it.each([
    [['-h'], 'help'], [['--help'], 'help'], [['--mode=x', '--help'], 'help'], [['--nope', '-h'], 'help'],
    [['--version'], 'version'], [['--mode=x'], undefined], [['--', '--help'], undefined],
  ])('%j requests %s', (argv, request) => {
    expect(commandRequest(argv)).toBe(request);
  });

  it('prints the flags on help and the version on --version, and says to stop', () => {
    const printed: string[] = [];
    const command = { name: 'natplan test', summary: 'a test command', flags: specs };
    expect(answerCommandRequest(command, ['--help'], '9.9.9', (t) => printed.push(t))).toBe(true);
    expect(answerCommandRequest(command, ['--version'], '9.9.9', (t) => printed.push(t))).toBe(true);
    expect(answerCommandRequest(command, ['--verbose'], '9.9.9', (t) => printed.push(t))).toBe(false);
    expect(printed).toHaveLength(2);
    expect(printed[0]).toMatch(/^natplan test: a test command\n\n {2}--mode \(string\) {2}mode \[env X_MODE, default replace\]/);
    expect(printed[0]).toContain('-h, --help');
    expect(printed[1]).toBe('natplan 9.9.9');
  });

  it('puts every flag error on one line', () => {
    expect(flagErrorLine('natplan agent', ['unknown flag --a', 'unknown flag --b'])).toBe('natplan agent: unknown flag --a; unknown flag --b (see natplan agent --help)');
  });
});
