import { describe, expect, it } from 'vitest';
import { isExecError } from './errors.js';
import { FakeExec } from './fake.js';
import { conntrackDeleteUdp, detectBackend, iptablesRestore, nftListTable } from './tools.js';

describe('detectBackend', () => {
  it('prefers nftables when the kernel accepts the probe', async () => {
    const exec = new FakeExec();
    await expect(detectBackend(exec)).resolves.toBe('nftables');
    expect(exec.calls.map((c) => c.command)).toEqual(['nft --check -f -']);
    expect(exec.calls[0]?.stdin).toContain('type nat hook prerouting');
  });

  it('falls back to iptables when nft is missing', async () => {
    const exec = new FakeExec().on('nft', { fail: 'missingBinary' });
    await expect(detectBackend(exec)).resolves.toBe('iptables');
    expect(exec.callsTo('iptables-restore')[0]?.command).toBe('iptables-restore -w 5 --noflush --test');
  });

  it('falls back to iptables when the kernel refuses nftables', async () => {
    const exec = new FakeExec().on('nft', { fail: 'other', stderr: 'Error: Could not process rule: Protocol not supported' });
    await expect(detectBackend(exec)).resolves.toBe('iptables');
  });

  it('fails with both reasons when neither works', async () => {
    const exec = new FakeExec()
      .on('nft', { fail: 'missingBinary', stderr: 'exec of "nft" failed' })
      .on('iptables-restore', { fail: 'missingBinary', stderr: 'exec of "iptables-restore" failed' });
    const failure = await detectBackend(exec).catch((e: unknown) => e);
    expect(isExecError(failure, 'missingBinary')).toBe(true);
    expect(String(failure)).toMatch(/nftables: missingBinary.*iptables: missingBinary/);
  });

  it('honours a preference for nftables instead of swapping silently', async () => {
    const exec = new FakeExec().on('nft', { fail: 'permission' });
    await expect(detectBackend(exec, 'nftables')).rejects.toThrow(/no usable NAT backend/);
    expect(exec.callsTo('iptables')).toEqual([]);
  });

  it('does not probe nft when iptables is asked for', async () => {
    const exec = new FakeExec();
    await expect(detectBackend(exec, 'iptables')).resolves.toBe('iptables');
    expect(exec.callsTo('nft')).toEqual([]);
  });
});

describe('tool wrappers', () => {
  it('returns null for an absent table and rethrows other failures', async () => {
    const exec = new FakeExec().on('nft list', { fail: 'notFound' }, 1).on('nft list', { fail: 'permission' }, 1);
    await expect(nftListTable(exec, 'ip', 'natplan')).resolves.toBeNull();
    await expect(nftListTable(exec, 'ip', 'natplan')).rejects.toThrow(/permission/);
  });

  it('treats "0 flow entries deleted" as nothing to do, and picks the address family', async () => {
    const exec = new FakeExec().on('conntrack', { fail: 'notFound' }, 1);
    await expect(conntrackDeleteUdp(exec, { address: '10.244.1.5', port: 53 })).resolves.toBe(false);
    await expect(conntrackDeleteUdp(exec, { address: 'fd00:10:244:1::5', port: 53 })).resolves.toBe(true);
    await expect(conntrackDeleteUdp(exec, { address: '10.96.0.10', port: 53, match: 'original-destination' })).resolves.toBe(true);
    await expect(conntrackDeleteUdp(exec, { address: '10.244.1.5', port: 5353, frontend: { address: '10.96.0.16', port: 53 } })).resolves.toBe(true);
    expect(exec.calls.map((c) => c.command)).toEqual([
      'conntrack -D -f ipv4 -p udp --reply-src 10.244.1.5 --reply-port-src 53',
      'conntrack -D -f ipv6 -p udp --reply-src fd00:10:244:1::5 --reply-port-src 53',
      'conntrack -D -f ipv4 -p udp --orig-dst 10.96.0.10 --orig-port-dst 53',
      'conntrack -D -f ipv4 -p udp --orig-dst 10.96.0.16 --orig-port-dst 53 --reply-src 10.244.1.5 --reply-port-src 5353',
    ]);
  });

  it('runs ip6tables-restore for IPv6 input', async () => {
    const exec = new FakeExec();
    await iptablesRestore(exec, 'IPv6', '*nat\nCOMMIT\n', { noflush: true });
    expect(exec.calls[0]).toMatchObject({ command: 'ip6tables-restore -w 5 --noflush', stdin: '*nat\nCOMMIT\n' });
  });
});
