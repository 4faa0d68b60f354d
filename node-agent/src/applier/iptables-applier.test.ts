import { describe, expect, it } from 'vitest';
import { FakeExec, type ExecCall } from '../exec/index.js';
import { IptablesApplier, declaredChains } from './iptables-applier.js';
import { toyIptablesPort } from './toy-port.test-support.js';

const isCheck = (c: ExecCall): boolean => c.stdin.split('\n').some((line) => line.startsWith('-C '));

function setup() {
  const exec = new FakeExec();
  const applier = new IptablesApplier(exec, toyIptablesPort, { now: () => 0 });
  // Restores that write (the kernel check's restores hold only -C lines).
  const restores = () => exec.calls.filter((c) => c.argv[0]?.endsWith('tables-restore') && !isCheck(c));
  return { exec, applier, restores };
}

describe('IptablesApplier', () => {
  it('writes both families and ensures the hook jumps on a full sync', async () => {
    const { exec, applier, restores } = setup();
    exec.on('iptables -w 5 -t nat -C', { fail: 'notFound', stderr: 'iptables: Bad rule (does a matching rule exist in that chain?).' });
    expect(await applier.apply(['svc:a', 'svc:v6'])).toMatchObject({ ok: true, mode: 'full' });
    expect(restores().map((c) => c.argv[0])).toEqual(['iptables-restore', 'ip6tables-restore']);
    expect(exec.calls.filter((c) => c.argv.includes('-I')).map((c) => c.command)).toEqual([
      'iptables -w 5 -t nat -I PREROUTING -j TOY-SERVICES',
    ]);
  });

  it('writes only a changed family later, and nothing when unchanged', async () => {
    const { applier, restores } = setup();
    await applier.apply(['svc:a', 'svc:v6']);
    expect(await applier.apply(['svc:a', 'svc:v6'])).toMatchObject({ ok: true, mode: 'unchanged' });
    expect(await applier.apply(['svc:b', 'svc:v6'])).toMatchObject({ ok: true, mode: 'incremental' });
    expect(restores().map((c) => c.argv[0])).toEqual(['iptables-restore', 'ip6tables-restore', 'iptables-restore']);
    expect(restores().at(-1)?.stdin).toContain('--comment svc:b');
  });

  it('restores only the chains that changed', async () => {
    const { applier, restores } = setup();
    await applier.apply(['chain:X', 'svc:a']);
    expect(restores()[0]?.stdin).toContain(':TOY-X - [0:0]');
    expect(await applier.apply(['chain:X', 'svc:b'])).toMatchObject({ ok: true, mode: 'incremental' });
    const text = restores().at(-1)?.stdin ?? '';
    expect(text).toContain(':TOY-SERVICES - [0:0]\n-A TOY-SERVICES -m comment --comment chain:X\n-A TOY-SERVICES -m comment --comment svc:b\n');
    expect(text).not.toContain('TOY-X');
  });

  it('always uses --noflush so rules of others survive', async () => {
    const { applier, restores } = setup();
    await applier.apply(['svc:a']);
    expect(restores().every((c) => c.argv.includes('--noflush'))).toBe(true);
  });

  it('deletes a chain that is no longer wanted, then stops mentioning it', async () => {
    const { applier, restores } = setup();
    await applier.apply(['chain:X', 'svc:a']);
    await applier.apply(['svc:a']);
    expect(restores().at(-1)?.stdin).toContain('-X TOY-X');
    expect(await applier.apply(['svc:a'])).toMatchObject({ mode: 'unchanged' });
  });

  it('on a full sync, deletes stale chains found by iptables-save', async () => {
    const { exec, applier, restores } = setup();
    exec.on('iptables-save -t nat', { stdout: '*nat\n:PREROUTING ACCEPT [0:0]\n:TOY-SERVICES - [0:0]\n:TOY-OLD - [0:0]\nCOMMIT\n' });
    await applier.apply(['svc:a']);
    expect(restores()[0]?.stdin).toContain('-X TOY-OLD');
    expect(restores()[0]?.stdin).not.toContain('-X TOY-SERVICES');
  });

  it('rewrites both families after a half-applied sync', async () => {
    const { exec, applier, restores } = setup();
    await applier.apply(['svc:a']);
    exec.on((c) => c.argv[0] === 'ip6tables-restore' && !isCheck(c), { fail: 'invalid', stderr: 'ip6tables-restore: line 2 failed' }, 1);
    const failed = await applier.apply(['svc:b', 'svc:v6']);
    expect(failed).toMatchObject({ ok: false, reason: 'ApplyFailed (iptables, invalid): ip6tables-restore: line 2 failed' });
    expect(await applier.apply(['svc:b', 'svc:v6'])).toMatchObject({ ok: true, mode: 'full' });
    expect(restores().slice(-2).map((c) => c.argv[0])).toEqual(['iptables-restore', 'ip6tables-restore']);
  });

  it('clears stale UDP flows after the restore', async () => {
    const { exec, applier } = setup();
    await applier.apply(['udp:10.244.1.5:53']);
    await applier.apply([]);
    expect(exec.calls.at(-1)).toMatchObject({ command: 'conntrack -L -f ipv4 -p udp' });
  });

  it('cleans up: removes every copy of the hook jumps, then our chains', async () => {
    const { exec, applier } = setup();
    exec.on('iptables -w 5 -t nat -C', {}, 2).on(/ -C /, { fail: 'notFound' });
    exec.on('iptables-save -t nat', { stdout: ':TOY-SERVICES - [0:0]\n' });
    await applier.cleanup();
    expect(exec.calls.filter((c) => c.argv.includes('-D')).map((c) => c.command)).toEqual([
      'iptables -w 5 -t nat -D PREROUTING -j TOY-SERVICES', 'iptables -w 5 -t nat -D PREROUTING -j TOY-SERVICES',
    ]);
    expect(exec.calls.find((c) => c.argv[0] === 'iptables-restore')?.stdin).toContain('-X TOY-SERVICES');
  });
});

describe('IptablesApplier kernel check', () => {
  it('checks, per family, the marker of its last restore, the hook jumps and the first rule of each static chain', async () => {
    const { exec, applier, restores } = setup();
    expect(await applier.apply(['svc:a', 'svc:b'])).toMatchObject({ ok: true, kernel: { confirmed: true } });
    const checks = exec.calls.filter(isCheck);
    expect(checks.map((c) => c.command)).toEqual(['iptables-restore -w 5 --noflush', 'ip6tables-restore -w 5 --noflush']);
    expect(checks[0]?.stdin).toBe([
      '*nat', '-C TOY-COMMIT -m comment --comment "natplan commit 1"', '-C PREROUTING -j TOY-SERVICES',
      '-C TOY-SERVICES -m comment --comment svc:a', 'COMMIT', '',
    ].join('\n'));
    // The IPv6 restore was the second one; its chain has no rules to check.
    expect(checks[1]?.stdin).toBe('*nat\n-C TOY-COMMIT -m comment --comment "natplan commit 2"\n-C PREROUTING -j TOY-SERVICES\nCOMMIT\n');
    expect(restores()[0]?.stdin).toContain(':TOY-COMMIT - [0:0]\n-A TOY-COMMIT -m comment --comment "natplan commit 1"\n');
  });

  it('repairs a flushed chain with a full sync and names the missing rule', async () => {
    const { exec, applier, restores } = setup();
    await applier.apply(['svc:a']);
    exec.on((c) => c.argv[0] === 'iptables-restore' && isCheck(c), { fail: 'notFound', stderr: 'iptables-restore: line 4 failed: Bad rule (does a matching rule exist in that chain?).' }, 1);
    const repaired = await applier.apply(['svc:a', 'svc:b']);
    expect(repaired).toMatchObject({ ok: true, mode: 'full', kernel: { confirmed: true } });
    expect(repaired.ok && repaired.driftRepaired).toBe('the kernel no longer holds the last commit: IPv4 rule missing: TOY-SERVICES -m comment --comment svc:a');
    expect(restores().slice(-2).map((c) => c.argv[0])).toEqual(['iptables-restore', 'ip6tables-restore']);
  });

  it('keeps the marker chain out of the stale chains it deletes on a full sync', async () => {
    const { exec, applier, restores } = setup();
    exec.on('iptables-save -t nat', { stdout: '*nat\n:TOY-SERVICES - [0:0]\n:TOY-COMMIT - [0:0]\nCOMMIT\n' });
    await applier.apply(['svc:a']);
    expect(restores()[0]?.stdin).not.toContain('-X TOY-COMMIT');
  });
});

describe('declaredChains', () => {
  it('reads chain declarations of save and restore text', () => {
    expect(declaredChains('*nat\n:PREROUTING ACCEPT [0:0]\n:NATPLAN-SERVICES - [0:0]\n-A X -j Y\nCOMMIT\n')).toEqual(['PREROUTING', 'NATPLAN-SERVICES']);
  });
});
