import { describe, expect, it } from 'vitest';
import { FakeExec } from '../exec/index.js';
import { removeEverything } from './cleanup-all.js';

describe('removeEverything', () => {
  it('cleans nftables and both iptables userspaces', async () => {
    const exec = new FakeExec().on(/ -C /, { fail: 'notFound' });
    expect(await removeEverything(exec)).toEqual({ cleaned: ['nftables', 'iptables', 'iptables-legacy'], skipped: [], errors: [] });
    expect(exec.callsTo('nft -f -')[0]?.stdin).toMatch(/delete table ip natplan/);
    expect(exec.callsTo('iptables-legacy-restore')).toHaveLength(1);
    expect(exec.callsTo('ip6tables-restore')).toHaveLength(1);
  });

  it('skips a backend whose tools are missing and reports real failures', async () => {
    const exec = new FakeExec()
      .on('nft', { fail: 'missingBinary' })
      .on(/ -C /, { fail: 'notFound' })
      .on('iptables-legacy-restore', { fail: 'permission', stderr: 'Permission denied (you must be root)' });
    const report = await removeEverything(exec);
    expect(report).toMatchObject({ cleaned: ['iptables'], skipped: ['nftables'] });
    expect(report.errors.map((e) => e.message)).toEqual([expect.stringContaining('permission')]);
  });
});
