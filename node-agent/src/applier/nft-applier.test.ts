import { describe, expect, it } from 'vitest';
import { FakeExec } from '../exec/index.js';
import type { Exec } from '../exec/index.js';
import { NftApplier } from './nft-applier.js';
import { toyNftPort } from './toy-port.test-support.js';

const unmarked = (script: string): string => script.split('\n').filter((line) => line && !line.includes('commit-marker')).join('\n');

function setup(options: { maxElementsPerTransaction?: number } = {}) {
  const exec = new FakeExec();
  let clock = 0;
  const applier = new NftApplier(exec, toyNftPort, { now: () => clock, fullSyncIntervalMs: 60_000, ...options });
  // Without the commit marker every script ends with (nft-kernel-check.ts).
  const nftScripts = () => exec.callsTo('nft -f -').map((c) => unmarked(c.stdin));
  return { exec, applier, nftScripts, advance: (ms: number) => { clock += ms; } };
}

describe('NftApplier', () => {
  it('starts with a full sync, then sends only what changed, and nothing when nothing did', async () => {
    const { applier, nftScripts } = setup();
    expect(await applier.apply(['svc:a', 'svc:b'])).toMatchObject({ ok: true, mode: 'full', digest: 'toy:svc:a,svc:b', counts: { elements: 2 } });
    expect(await applier.apply(['svc:a', 'svc:b'])).toMatchObject({ ok: true, mode: 'unchanged' });
    expect(await applier.apply(['svc:a', 'svc:c'])).toMatchObject({ ok: true, mode: 'incremental' });
    expect(nftScripts()).toEqual([
      'flush table ip toy\nadd element svc:a\nadd element svc:b',
      'delete element svc:b\nadd element svc:c',
    ]);
  });

  it('keeps the committed state after a failed transaction and makes the next sync full', async () => {
    const { exec, applier, nftScripts } = setup();
    await applier.apply(['svc:a']);
    exec.on('nft -f -', { fail: 'notFound', stderr: 'Error: Could not process rule: No such file or directory\ndelete element svc:a' }, 1);
    const failed = await applier.apply(['svc:b']);
    expect(failed).toMatchObject({ ok: false, mode: 'incremental' });
    expect(!failed.ok && failed.reason).toBe('ApplyFailed (nftables, notFound): Error: Could not process rule: No such file or directory | delete element svc:a');
    expect(await applier.apply(['svc:b'])).toMatchObject({ ok: true, mode: 'full' });
    expect(nftScripts().at(-1)).toBe('flush table ip toy\nadd element svc:b');
  });

  it('repairs drift with a full sync once the interval has passed, even with no change', async () => {
    const { applier, advance } = setup();
    await applier.apply(['svc:a']);
    advance(59_999);
    expect(await applier.apply(['svc:a'])).toMatchObject({ mode: 'unchanged' });
    advance(1);
    expect(await applier.apply(['svc:a'])).toMatchObject({ mode: 'full' });
    expect(await applier.apply(['svc:a'])).toMatchObject({ mode: 'unchanged' });
  });

  it('computes the digest only when it is read', async () => {
    let digests = 0;
    const exec = new FakeExec();
    const applier = new NftApplier(exec, { ...toyNftPort, digest: (r) => { digests += 1; return toyNftPort.digest(r); } });
    const result = await applier.apply(['svc:a']);
    expect(digests).toBe(0);
    expect(result.ok && result.digest).toBe('toy:svc:a');
    expect(result.ok && result.digest).toBe('toy:svc:a');
    expect(digests).toBe(1);
  });

  it('spaces repairs to at least 100 times the cost of the last full sync', async () => {
    const exec = new FakeExec();
    let clock = 0;
    // Every nft run "takes" 1 s of the fake clock: a full sync costs 1 s, so repairs wait 100 s.
    const slow: Exec = { target: exec.target, run: async (argv, options) => { clock += 1000; return exec.run(argv, options); } };
    const applier = new NftApplier(slow, toyNftPort, { now: () => clock, fullSyncIntervalMs: 60_000 });
    await applier.apply(['svc:a']);
    clock = 60_000;
    expect(await applier.apply(['svc:a'])).toMatchObject({ mode: 'unchanged' });
    clock = 100_000;
    expect(await applier.apply(['svc:a'])).toMatchObject({ mode: 'full' });
  });

  it('does a full sync when asked', async () => {
    const { applier } = setup();
    await applier.apply(['svc:a']);
    applier.requestFullSync();
    expect(await applier.apply(['svc:a'])).toMatchObject({ mode: 'full' });
  });

  it('splits only the first load of a large ruleset', async () => {
    const { applier, nftScripts } = setup({ maxElementsPerTransaction: 2 });
    expect(await applier.apply(['e1', 'e2', 'e3', 'e4', 'e5'])).toMatchObject({ ok: true, mode: 'coldStart' });
    expect(nftScripts()).toEqual(['flush table ip toy', 'add element e1\nadd element e2', 'add element e3\nadd element e4', 'add element e5']);
    applier.requestFullSync();
    expect(await applier.apply(['e1', 'e2', 'e3', 'e4', 'e5'])).toMatchObject({ mode: 'full' });
    expect(nftScripts()).toHaveLength(5);
  });

  it('restarts over an existing table with one full transaction, not in chunks', async () => {
    const { exec, applier, nftScripts } = setup({ maxElementsPerTransaction: 2 });
    exec.on('nft list tables', { stdout: 'table ip other\ntable ip toy\n' });
    expect(await applier.apply(['e1', 'e2', 'e3'])).toMatchObject({ ok: true, mode: 'full' });
    expect(nftScripts()).toHaveLength(1);
  });

  it('starts cold again when a split load failed half-way', async () => {
    const { exec, applier } = setup({ maxElementsPerTransaction: 2 });
    exec.on((c) => c.stdin.includes('e3'), { fail: 'other', stderr: 'Error: Device or resource busy' }, 1);
    expect(await applier.apply(['e1', 'e2', 'e3'])).toMatchObject({ ok: false });
    expect(await applier.apply(['e1', 'e2', 'e3'])).toMatchObject({ ok: true, mode: 'coldStart' });
  });

  it('deletes conntrack entries of removed UDP endpoints after the commit, and only then', async () => {
    const { exec, applier } = setup();
    exec.on('conntrack -L', { stdout: 'udp      17 29 src=10.244.1.9 dst=10.96.0.53 sport=40001 dport=53 src=10.244.1.5 dst=10.244.1.9 sport=5353 dport=40001 mark=0 use=1\n' });
    await applier.apply(['udp:10.244.1.5:5353', 'udp:10.244.2.9:5353']);
    const result = await applier.apply(['udp:10.244.2.9:5353']);
    expect(result).toMatchObject({ ok: true, staleUdpCleared: [{ address: '10.244.1.5', port: 5353 }], conntrackErrors: [] });
    expect(exec.calls.slice(-4).map((c) => c.command.replace(/ \/\S+$/, ' FILE'))).toEqual(['nft -f -', 'nft --check -f -', 'conntrack -L -f ipv4 -p udp', 'conntrack -R FILE']);
  });

  it('leaves conntrack alone when the transaction failed', async () => {
    const { exec, applier } = setup();
    await applier.apply(['udp:10.244.1.5:5353']);
    exec.on('nft -f -', { fail: 'invalid', stderr: 'syntax error' }, 1);
    await applier.apply([]);
    expect(exec.callsTo('conntrack')).toEqual([]);
  });

  it('reports a conntrack failure without failing the sync', async () => {
    const { exec, applier } = setup();
    exec.on('conntrack', { fail: 'permission', stderr: 'Operation not permitted' });
    await applier.apply(['udp:10.244.1.5:5353']);
    const result = await applier.apply([]);
    expect(result.ok && result.conntrackErrors.map((e) => e.message)).toEqual([expect.stringContaining('permission')]);
  });

  it('reports a renderer exception without touching the kernel or forcing a full sync', async () => {
    const { exec, applier } = setup();
    await applier.apply(['svc:a']);
    const calls = exec.calls.length;
    expect(await applier.apply(['boom'])).toMatchObject({ ok: false, reason: 'RenderFailed (nftables): renderer cannot express boom' });
    expect(exec.calls).toHaveLength(calls);
    expect(await applier.apply(['svc:b'])).toMatchObject({ mode: 'incremental' });
  });

  it('runs concurrent applies one after the other, each from the previous commit', async () => {
    const { applier, nftScripts } = setup();
    const results = await Promise.all([applier.apply(['a']), applier.apply(['a', 'b']), applier.apply(['b'])]);
    expect(results.map((r) => r.mode)).toEqual(['full', 'incremental', 'incremental']);
    expect(nftScripts().slice(1)).toEqual(['add element b', 'delete element a']);
  });

  it('cleans up, tolerates an already-clean kernel, and starts full afterwards', async () => {
    const { exec, applier, nftScripts } = setup();
    await applier.apply(['svc:a']);
    exec.on('nft', { fail: 'notFound' }, 1);
    await applier.cleanup();
    await applier.cleanup();
    expect(nftScripts().slice(-1)).toEqual(['delete table ip toy']);
    expect(await applier.apply(['svc:a'])).toMatchObject({ mode: 'full' });
  });
});
