import { describe, expect, it } from 'vitest';
import { FakeExec } from '../exec/index.js';
import { createDetectedApplier } from './create.js';

describe('createDetectedApplier', () => {
  it('builds the nftables applier when the kernel takes the probe', async () => {
    expect((await createDetectedApplier(new FakeExec())).backend).toBe('nftables');
  });

  it('builds the iptables applier when nft is missing', async () => {
    const exec = new FakeExec().on('nft', { fail: 'missingBinary' });
    expect((await createDetectedApplier(exec)).backend).toBe('iptables');
  });

  it('rejects with a classified error when neither backend works', async () => {
    const exec = new FakeExec().on('nft', { fail: 'missingBinary' }).on('iptables-restore', { fail: 'permission' });
    await expect(createDetectedApplier(exec)).rejects.toMatchObject({ kind: 'permission', message: expect.stringMatching(/no usable NAT backend/) });
  });
});
