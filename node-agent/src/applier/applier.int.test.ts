import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { Topology } from '@natplan/e2e/netns';
import type { Host } from '@natplan/e2e/netns';
import { iptablesSave, nftApply, nftListTable } from '../exec/index.js';
import { IptablesApplier } from './iptables-applier.js';
import { NftApplier } from './nft-applier.js';
import type { IptablesPort, NftScriptPort } from './types.js';

// The applier against the real kernel, in a namespace this test creates, with a tiny
// hand-written "renderer": a ruleset is a list of `address . port` set elements.
// The real renderer's behaviour is covered by node-agent/test/dataplane.
type Elements = readonly string[];
const T = 'ip natplan_applier_test';

const nftPort: NftScriptPort<Elements, Elements> & { size(r: Elements): number } = {
  render: (input) => [...input].sort(),
  size: (r) => r.length,
  tables: ['ip natplan_applier_test'],
  fullSyncScript: (r) => [
    `add table ${T}`, `add set ${T} svc { type ipv4_addr . inet_service; }`, `flush set ${T} svc`,
    ...r.map((e) => `add element ${T} svc { ${e} }`),
  ].join('\n'),
  incrementalScript: (committed, desired) => {
    const lines = [
      ...committed.filter((e) => !desired.includes(e)).map((e) => `delete element ${T} svc { ${e} }`),
      ...desired.filter((e) => !committed.includes(e)).map((e) => `add element ${T} svc { ${e} }`),
    ];
    return lines.length ? lines.join('\n') : null;
  },
  coldStartScripts: (r, max) => {
    const scripts = [nftPort.fullSyncScript([])];
    for (let i = 0; i < r.length; i += max) scripts.push(`add element ${T} svc { ${r.slice(i, i + max).join(', ')} }`);
    return scripts;
  },
  cleanupScript: () => `add table ${T}\ndelete table ${T}`,
  skeleton: (r) => ({ chains: [], elements: r.length ? [{ table: T, set: 'svc', key: r[0] ?? '' }] : [] }),
  staleUdpEndpoints: () => [],
  digest: (r) => r.join(','),
  counts: (r) => ({ elements: r.length }),
};

async function elementsIn(host: Host): Promise<string[]> {
  const listing = await host.run(['nft', 'list', 'set', 'ip', 'natplan_applier_test', 'svc']).then((r) => r.stdout, () => '');
  const match = /elements = \{([^}]*)\}/.exec(listing ?? '');
  return (match?.[1] ?? '').split(',').map((e) => e.trim()).filter(Boolean).sort();
}

async function tableHandle(host: Host): Promise<string | undefined> {
  const { stdout } = await host.run(['nft', '-a', 'list', 'tables']);
  return /table ip natplan_applier_test # handle (\d+)/.exec(stdout)?.[1];
}

describe('NftApplier in a namespace', () => {
  let topology: Topology;
  let node: Host;
  beforeAll(async () => {
    topology = await Topology.create();
    node = await topology.addHost('applier-nft');
  });
  afterAll(async () => { await topology?.destroy(); });
  beforeEach(async () => { await nftApply(node.exec, nftPort.cleanupScript()); });

  it('commits a full sync, then incremental changes from memory', async () => {
    const applier = new NftApplier(node.exec, nftPort);
    expect(await applier.apply(['10.96.0.1 . 80', '10.96.0.2 . 53'])).toMatchObject({ ok: true, mode: 'full' });
    expect(await applier.apply(['10.96.0.1 . 80', '10.96.0.3 . 443'])).toMatchObject({ ok: true, mode: 'incremental' });
    expect(await elementsIn(node)).toEqual(['10.96.0.1 . 80', '10.96.0.3 . 443']);
  });

  it('rolls a failed transaction back whole, reports the tool error, and repairs with a full sync', async () => {
    const applier = new NftApplier(node.exec, nftPort);
    await applier.apply(['10.96.0.1 . 80', '10.96.0.2 . 53']);
    // Someone removes an element behind our back: our incremental delete of it now fails,
    // and the add in the same transaction must not land either.
    await nftApply(node.exec, `delete element ${T} svc { 10.96.0.2 . 53 }`);
    const failed = await applier.apply(['10.96.0.1 . 80', '10.96.0.4 . 8080']);
    expect(failed).toMatchObject({ ok: false, mode: 'incremental', error: { kind: 'notFound' } });
    expect(!failed.ok && failed.reason).toMatch(/^ApplyFailed \(nftables, notFound\): .*No such file or directory/);
    expect(await elementsIn(node)).toEqual(['10.96.0.1 . 80']);
    expect(await applier.apply(['10.96.0.1 . 80', '10.96.0.4 . 8080'])).toMatchObject({ ok: true, mode: 'full' });
    expect(await elementsIn(node)).toEqual(['10.96.0.1 . 80', '10.96.0.4 . 8080']);
  });

  it('repairs a flushed set at the next sync: the kernel check misses its sample element', async () => {
    const applier = new NftApplier(node.exec, nftPort, { now: () => 0, fullSyncIntervalMs: 1000 });
    expect(await applier.apply(['10.96.0.1 . 80'])).toMatchObject({ ok: true, mode: 'full', kernel: { confirmed: true } });
    expect(await applier.apply(['10.96.0.1 . 80'])).toMatchObject({ ok: true, mode: 'unchanged', kernel: { confirmed: true } });
    // (`nft flush table` would not do: in nft 1.0.6 it empties chains but keeps set elements.)
    await node.run(['nft', 'flush', 'set', 'ip', 'natplan_applier_test', 'svc']);
    expect(await elementsIn(node)).toEqual([]);
    const repaired = await applier.apply(['10.96.0.1 . 80']);
    expect(repaired).toMatchObject({ ok: true, mode: 'full', kernel: { confirmed: true } });
    expect(repaired.ok && repaired.driftRepaired).toMatch(/no longer holds the last commit: .*delete element ip natplan_applier_test svc \{ 10\.96\.0\.1 \. 80 \}/);
    expect(await elementsIn(node)).toEqual(['10.96.0.1 . 80']);
  });

  it('notices a deleted table at an incremental sync and recreates it in the same sync', async () => {
    const applier = new NftApplier(node.exec, nftPort);
    await applier.apply(['10.96.0.1 . 80']);
    await node.run(['nft', 'delete', 'table', 'ip', 'natplan_applier_test']);
    const repaired = await applier.apply(['10.96.0.1 . 80', '10.96.0.2 . 80']);
    expect(repaired).toMatchObject({ ok: true, mode: 'full', kernel: { confirmed: true }, driftRepaired: expect.stringMatching(/No such file or directory/) });
    expect(await elementsIn(node)).toEqual(['10.96.0.1 . 80', '10.96.0.2 . 80']);
  });

  it('lands a diff only on the commit it was computed against: without the last marker the kernel refuses it, and the sync repairs in full', async () => {
    const applier = new NftApplier(node.exec, nftPort);
    await applier.apply(['10.96.0.1 . 80']);
    // As if the table had been restored from an older dump: same elements, not our last commit.
    await node.run(['nft', 'flush', 'set', 'ip', 'natplan_applier_test', 'commit-marker']);
    const repaired = await applier.apply(['10.96.0.1 . 80', '10.96.0.2 . 80']);
    expect(repaired).toMatchObject({ ok: true, mode: 'full', kernel: { confirmed: true }, driftRepaired: expect.stringMatching(/commit-marker/) });
    expect(await elementsIn(node)).toEqual(['10.96.0.1 . 80', '10.96.0.2 . 80']);
    expect(await applier.apply(['10.96.0.2 . 80'])).toMatchObject({ ok: true, mode: 'incremental', kernel: { confirmed: true } });
    expect(await elementsIn(node)).toEqual(['10.96.0.2 . 80']);
  });

  it('restarts (a new applier) without deleting and recreating the table', async () => {
    await new NftApplier(node.exec, nftPort).apply(['10.96.0.1 . 80']);
    const before = await tableHandle(node);
    expect(await new NftApplier(node.exec, nftPort).apply(['10.96.0.1 . 80', '10.96.0.2 . 80'])).toMatchObject({ ok: true, mode: 'full' });
    expect(await tableHandle(node)).toBe(before);
    expect(await elementsIn(node)).toEqual(['10.96.0.1 . 80', '10.96.0.2 . 80']);
  });

  it('loads a large first ruleset in chunks, but restarts over an existing table in one transaction', async () => {
    await nftApply(node.exec, `add table ${T}\ndelete table ${T}`);
    const many = Array.from({ length: 250 }, (_, i) => `10.96.${Math.floor(i / 200)}.${i % 200} . 80`);
    const options = { maxElementsPerTransaction: 100 };
    expect(await new NftApplier(node.exec, nftPort, options).apply(many)).toMatchObject({ ok: true, mode: 'coldStart' });
    expect(await elementsIn(node)).toHaveLength(250);
    expect(await new NftApplier(node.exec, nftPort, options).apply(many)).toMatchObject({ ok: true, mode: 'full' });
    expect(await elementsIn(node)).toHaveLength(250);
  });

  it('cleans up everything, and again when nothing is left', async () => {
    const applier = new NftApplier(node.exec, nftPort);
    await applier.apply(['10.96.0.1 . 80']);
    await applier.cleanup();
    await applier.cleanup();
    expect(await nftListTable(node.exec, 'ip', 'natplan_applier_test')).toBeNull();
  });
});

const CHAIN = 'NTEST-SERVICES';
const restoreText = (rules: readonly string[], stale: readonly string[]) =>
  ['*nat', `:${CHAIN} - [0:0]`, ...stale.map((c) => `:${c} - [0:0]`), ...rules, ...stale.map((c) => `-X ${c}`), 'COMMIT', ''].join('\n');
const iptablesPort: IptablesPort<Elements, Elements> = {
  ...nftPort,
  chainPrefix: 'NTEST-',
  tables: ['nat'],
  chains: (input) => ({
    IPv4: new Map([['nat', new Map([[CHAIN, [...input].sort().map((e) => `-A ${CHAIN} -d ${e.split(' ')[0]}/32 -j RETURN`)]])]]),
    IPv6: new Map([['nat', new Map([[CHAIN, []]])]]),
  }),
  hookJumps: () => [{ table: 'nat', chain: 'PREROUTING', args: ['-j', CHAIN] }],
  staticChains: [CHAIN],
  cleanupInput: (existing) => ({ IPv4: restoreText([], existing.IPv4), IPv6: restoreText([], existing.IPv6) }),
};

describe('IptablesApplier in a namespace', () => {
  let topology: Topology;
  let node: Host;
  beforeAll(async () => {
    topology = await Topology.create();
    node = await topology.addHost('applier-ipt');
  });
  afterAll(async () => { await topology?.destroy(); });

  it('rewrites only its own chain, keeps foreign rules, and keeps the old chain on a failed restore', async () => {
    await node.run(['iptables', '-t', 'nat', '-A', 'POSTROUTING', '-s', '10.244.0.0/16', '-j', 'MASQUERADE']);
    await node.run(['iptables', '-t', 'nat', '-N', 'NTEST-LEFTOVER']);
    const applier = new IptablesApplier(node.exec, iptablesPort);
    expect(await applier.apply(['10.96.0.1 . 80', '10.96.0.2 . 80'])).toMatchObject({ ok: true, mode: 'full' });
    expect(await iptablesSave(node.exec, 'IPv4')).not.toContain('NTEST-LEFTOVER');
    // The full sync of a new applier (a restart) does not add the hook jump twice.
    await new IptablesApplier(node.exec, iptablesPort).apply(['10.96.0.1 . 80', '10.96.0.2 . 80']);
    expect((await iptablesSave(node.exec, 'IPv4')).match(/-A PREROUTING -j NTEST-SERVICES/g)).toHaveLength(1);
    expect(await applier.apply(['10.96.0.1 . 80'])).toMatchObject({ ok: true, mode: 'incremental' });
    const saved = await iptablesSave(node.exec, 'IPv4');
    expect(saved).toContain(`-A ${CHAIN} -d 10.96.0.1/32 -j RETURN`);
    expect(saved).not.toContain('10.96.0.2');
    expect(saved).toContain('-A POSTROUTING -s 10.244.0.0/16 -j MASQUERADE');

    const failed = await applier.apply(['999.1.1.1 . 80']);
    expect(failed).toMatchObject({ ok: false, error: { kind: 'invalid' } });
    expect(await iptablesSave(node.exec, 'IPv4')).toContain(`-A ${CHAIN} -d 10.96.0.1/32 -j RETURN`);

    await applier.cleanup();
    expect(await iptablesSave(node.exec, 'IPv4')).not.toContain('NTEST-');
  });
});
