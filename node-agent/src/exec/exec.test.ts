import { describe, expect, it } from 'vitest';
import { isExecError } from './errors.js';
import { createExec, withTarget } from './exec.js';

// These run harmless commands (sh, cat) in the test's own namespace: no network state is touched.
describe('createExec', () => {
  const host = createExec('host');

  it('passes stdin and returns stdout', async () => {
    await expect(host.run(['cat'], { stdin: 'add table ip x\n' })).resolves.toEqual({ stdout: 'add table ip x\n', stderr: '' });
  });

  it('rejects a non-zero exit with the classified stderr', async () => {
    const failure = await host.run(['sh', '-c', 'echo "Error: Could not process rule: File exists" >&2; exit 1']).catch((e: unknown) => e);
    expect(isExecError(failure, 'exists')).toBe(true);
    expect(isExecError(failure) && failure.stderr).toContain('File exists');
    expect(isExecError(failure) && failure.exitCode).toBe(1);
  });

  it('reports a missing binary as missingBinary', async () => {
    const failure = await host.run(['natplan-no-such-binary']).catch((e: unknown) => e);
    expect(isExecError(failure, 'missingBinary')).toBe(true);
  });

  it('kills a command that outlives its timeout', async () => {
    // Ten minutes: a run that waited for the command instead of killing it ends the test
    // by its own timeout, so no clock is read here.
    const failure = await host.run(['sleep', '600'], { timeoutMs: 100 }).catch((e: unknown) => e);
    expect(isExecError(failure, 'other') && failure.stderr).toMatch(/timed out/);
  });
});

describe('withTarget', () => {
  it('prefixes ip netns exec for a namespace target and nothing for the host', () => {
    expect(withTarget({ netns: 'np-1-a' }, ['nft', '-f', '-'])).toEqual(['ip', 'netns', 'exec', 'np-1-a', 'nft', '-f', '-']);
    expect(withTarget('host', ['nft', '-f', '-'])).toEqual(['nft', '-f', '-']);
  });
});
