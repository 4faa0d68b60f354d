import { describe, expect, it } from 'vitest';
import { FakeExec } from '../exec/index.js';
import { checkScript, markerScript, parseRuleHandles, readHandles } from './nft-kernel-check.js';
import { NftApplier } from './nft-applier.js';
import { toyNftPort } from './toy-port.test-support.js';
import type { NftSkeleton } from './types.js';

// As nft 1.0.6 prints `nft -a -t list table ip natplan` (terse: no set elements).
const LISTING = `table ip natplan { # handle 7
	set hairpin { # handle 3
		type ipv4_addr . ipv4_addr
	}
	map service-ips { # handle 4
		type ipv4_addr . inet_proto . inet_service : verdict
	}
	chain nat-prerouting { # handle 1
		type nat hook prerouting priority dstnat; policy accept;
		jump services # handle 20
	}
	chain services { # handle 2
		ip daddr . meta l4proto . th dport vmap @service-ips # handle 21
	}
	chain masquerading { # handle 5
		meta mark & 0x00004000 == 0x00000000 return # handle 22
		meta mark set meta mark ^ 0x00004000 # handle 23
		masquerade fully-random # handle 24
	}
}
`;

const skeleton: NftSkeleton = {
  chains: [
    { table: 'ip natplan', chain: 'nat-prerouting', rules: ['jump services'] },
    { table: 'ip natplan', chain: 'masquerading', rules: ['a', 'b', 'c'] },
  ],
  elements: [{ table: 'ip natplan', set: 'service-ips', key: '10.96.0.10 . tcp . 80' }],
};

describe('nft kernel check', () => {
  it('reads rule handles per chain, not set or chain handles', () => {
    expect([...parseRuleHandles(LISTING)]).toEqual([['nat-prerouting', [20]], ['services', [21]], ['masquerading', [22, 23, 24]]]);
  });

  it('builds one --check batch: the marker, every static rule by handle, one element per set', () => {
    const handles = new Map([['ip natplan', parseRuleHandles(LISTING)]]);
    expect(checkScript(skeleton, handles, 'ip natplan', 42)).toBe([
      'delete element ip natplan commit-marker { 0x0000002a }',
      'delete rule ip natplan nat-prerouting handle 20',
      'delete rule ip natplan masquerading handle 22',
      'delete rule ip natplan masquerading handle 23',
      'delete rule ip natplan masquerading handle 24',
      'delete element ip natplan service-ips { 10.96.0.10 . tcp . 80 }',
      '',
    ].join('\n'));
    expect(markerScript('ip natplan', 42)).toBe('add set ip natplan commit-marker { type mark ; }\nflush set ip natplan commit-marker\nadd element ip natplan commit-marker { 0x0000002a }\n');
  });

  it('finds a chain with fewer rules than committed, or a missing table', async () => {
    const exec = new FakeExec().on('nft -a -t list table ip natplan', { stdout: LISTING.replace(/\t\tmasquerade fully-random # handle 24\n/, '') }, 1);
    expect(await readHandles(exec, skeleton)).toEqual({ problem: 'chain ip natplan masquerading holds 2 rules, 3 committed' });
    exec.on('nft -a -t list table', { fail: 'notFound', stderr: 'Error: No such file or directory' });
    expect(await readHandles(exec, skeleton)).toEqual({ problem: 'table ip natplan is missing' });
  });
});

describe('NftApplier with the kernel check', () => {
  it('confirms each commit by reading back its marker', async () => {
    const exec = new FakeExec();
    const applier = new NftApplier(exec, toyNftPort);
    expect(await applier.apply(['svc:a'])).toMatchObject({ ok: true, mode: 'full', kernel: { confirmed: true } });
    expect(await applier.apply(['svc:a', 'svc:b'])).toMatchObject({ ok: true, mode: 'incremental', kernel: { confirmed: true } });
    const checks = exec.callsTo('nft --check').map((c) => c.stdin);
    // After each commit (marker 1, then 2); none before the incremental one: its own
    // first line fails it unless the kernel still holds commit 1.
    expect(checks).toEqual([
      'delete element ip toy commit-marker { 0x00000001 }\ndelete element ip toy s { svc:a }\n',
      'delete element ip toy commit-marker { 0x00000002 }\ndelete element ip toy s { svc:a }\n',
    ]);
    const commits = exec.callsTo('nft -f -').map((c) => c.stdin.split('\n'));
    expect(commits.map((lines) => lines.at(-2))).toEqual(['add element ip toy commit-marker { 0x00000001 }', 'add element ip toy commit-marker { 0x00000002 }']);
    expect(commits[1]?.[0]).toBe('delete element ip toy commit-marker { 0x00000001 }');
    expect(commits[0]?.[0]).not.toMatch(/commit-marker/);
  });

  it('an incremental commit the kernel refuses because it lost the last commit is repaired in full in the same sync', async () => {
    const exec = new FakeExec();
    const applier = new NftApplier(exec, toyNftPort);
    await applier.apply(['svc:a']);
    const lost = '/dev/stdin:1:1-50: Error: Could not process rule: No such file or directory\ndelete element ip toy commit-marker { 0x00000001 }\n';
    exec.on('nft -f -', { fail: 'notFound', stderr: lost }, 1);
    exec.on('nft --check', { fail: 'notFound', stderr: lost }, 1);
    const repaired = await applier.apply(['svc:a', 'svc:b']);
    expect(repaired).toMatchObject({ ok: true, mode: 'full', kernel: { confirmed: true } });
    expect(repaired.ok && repaired.driftRepaired).toMatch(/^the kernel no longer holds the last commit: .*delete element ip toy commit-marker \{ 0x00000001 \}/);
    // The refused diff, then the full sync with the next marker (the refused one never landed).
    const commits = exec.callsTo('nft -f -').map((c) => c.stdin);
    expect(commits).toHaveLength(3);
    expect(commits[2]).toMatch(/^flush table ip toy\n[\s\S]*add element ip toy commit-marker \{ 0x00000002 \}\n$/);
    expect(await applier.apply(['svc:a', 'svc:b'])).toMatchObject({ mode: 'unchanged', kernel: { confirmed: true } });
  });

  it('an incremental commit refused while the kernel still holds the last commit fails as before: previous rules stay, the next sync is full', async () => {
    const exec = new FakeExec();
    const applier = new NftApplier(exec, toyNftPort);
    await applier.apply(['svc:a']);
    exec.on('nft -f -', { fail: 'other', stderr: 'Error: syntax error' }, 1);
    const failed = await applier.apply(['svc:a', 'svc:b']);
    expect(failed).toMatchObject({ ok: false, mode: 'incremental' });
    expect(!failed.ok && failed.reason).toMatch(/^ApplyFailed \(nftables, other\): Error: syntax error/);
    // One check, after the refusal, to tell drift from a refused diff.
    expect(exec.callsTo('nft --check')).toHaveLength(2);
    expect(await applier.apply(['svc:a', 'svc:b'])).toMatchObject({ ok: true, mode: 'full', kernel: { confirmed: true } });
  });

  it('turns an incremental sync full when the kernel lost the last commit, and says what was missing', async () => {
    const exec = new FakeExec();
    const applier = new NftApplier(exec, toyNftPort);
    await applier.apply(['svc:a']);
    exec.on('nft --check', { fail: 'notFound', stderr: '/dev/stdin:1:45-56: Error: Could not process rule: No such file or directory\ndelete element ip toy commit-marker { 0x00000001 }\n' }, 1);
    const repaired = await applier.apply(['svc:a', 'svc:b']);
    expect(repaired).toMatchObject({ ok: true, mode: 'full', kernel: { confirmed: true } });
    expect(repaired.ok && repaired.driftRepaired).toMatch(/^the kernel no longer holds the last commit: .*No such file or directory \| delete element ip toy commit-marker/);
    expect(exec.callsTo('nft -f -').at(-1)?.stdin).toMatch(/^flush table ip toy\n/);
    expect(await applier.apply(['svc:a', 'svc:b'])).toMatchObject({ mode: 'unchanged', kernel: { confirmed: true } });
  });

  it('an idle check (no sync) that finds drift makes the next sync full and reported as a repair', async () => {
    const exec = new FakeExec();
    const applier = new NftApplier(exec, toyNftPort);
    expect(await applier.verifyKernel()).toBeUndefined();
    await applier.apply(['svc:a']);
    expect(await applier.verifyKernel()).toEqual({ confirmed: true });
    exec.on('nft --check', { fail: 'notFound', stderr: 'Error: No such file or directory\ndelete element ip toy s { svc:a }\n' }, 1);
    const check = await applier.verifyKernel();
    expect(check).toMatchObject({ confirmed: false, problem: expect.stringContaining('delete element ip toy s { svc:a }') });
    // Already known to need a full sync: nothing more to check.
    expect(await applier.verifyKernel()).toBeUndefined();
    const repaired = await applier.apply(['svc:a']);
    expect(repaired).toMatchObject({ ok: true, mode: 'full', kernel: { confirmed: true }, driftRepaired: check?.confirmed === false ? check.problem : '' });
    const again = await applier.apply(['svc:a']);
    expect(again).toMatchObject({ mode: 'unchanged' });
    expect(again).not.toHaveProperty('driftRepaired');
  });

  it('reports an unconfirmed commit and makes the next sync full', async () => {
    const exec = new FakeExec();
    const applier = new NftApplier(exec, toyNftPort);
    exec.on('nft --check', { fail: 'other', stderr: 'Error: Device or resource busy' }, 1);
    const result = await applier.apply(['svc:a']);
    expect(result).toMatchObject({ ok: true, mode: 'full', kernel: { confirmed: false, problem: expect.stringContaining('kernel check failed (other)') } });
    expect(await applier.apply(['svc:a'])).toMatchObject({ mode: 'full', kernel: { confirmed: true } });
  });
});
