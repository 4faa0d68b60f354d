import { readFileSync } from 'node:fs';
import type { Exec, FakeExec } from '../exec/index.js';
import type { IptablesPort, NftScriptPort } from './types.js';

/**
 * A hand-written stand-in for the renderer, so the applier's bookkeeping is tested on
 * its own: a "ruleset" is a sorted list of element strings; `udp:ADDR:PORT` elements are
 * UDP endpoints. Scripts are plain text the tests can read.
 */
export type ToyRuleset = readonly string[];

export const toyNftPort: NftScriptPort<ToyRuleset, ToyRuleset> & { size(r: ToyRuleset): number } = {
  render: (input) => {
    if (input.includes('boom')) throw new Error('renderer cannot express boom');
    return [...input].sort();
  },
  size: (r) => r.length,
  tables: ['ip toy'],
  fullSyncScript: (r) => ['flush table ip toy', ...r.map((e) => `add element ${e}`)].join('\n'),
  incrementalScript: (committed, desired) => {
    const lines = [
      ...committed.filter((e) => !desired.includes(e)).map((e) => `delete element ${e}`),
      ...desired.filter((e) => !committed.includes(e)).map((e) => `add element ${e}`),
    ];
    return lines.length === 0 ? null : lines.join('\n');
  },
  coldStartScripts: (r, max) => {
    const chunks: string[] = ['flush table ip toy'];
    for (let i = 0; i < r.length; i += max) chunks.push(r.slice(i, i + max).map((e) => `add element ${e}`).join('\n'));
    return chunks;
  },
  cleanupScript: () => 'delete table ip toy',
  // No chains; one sample element (the first), checked as `delete element ip toy s { e }`.
  skeleton: (r) => ({ chains: [], elements: r.length ? [{ table: 'ip toy', set: 's', key: r[0] ?? '' }] : [] }),
  staleUdpEndpoints: (committed, desired) =>
    committed
      .filter((e) => e.startsWith('udp:') && !desired.includes(e))
      .map((e) => {
        const [, address = '', port = '0'] = e.split(':');
        return { address, port: Number(port) };
      }),
  digest: (r) => `toy:${r.join(',')}`,
  counts: (r) => ({ elements: r.length }),
};

const toyChain = 'TOY-SERVICES';
const toyRestore = (lines: readonly string[], stale: readonly string[]): string =>
  ['*nat', `:${toyChain} - [0:0]`, ...stale.map((c) => `:${c} - [0:0]`), ...lines, ...stale.map((c) => `-X ${c}`), 'COMMIT', ''].join('\n');

/** iptables stand-in: IPv4 rules for plain elements, IPv6 for elements containing "v6";
 * an element `chain:NAME` declares an extra chain TOY-NAME (to exercise stale-chain removal). */
export const toyIptablesPort: IptablesPort<ToyRuleset, ToyRuleset> = {
  ...toyNftPort,
  chainPrefix: 'TOY-',
  tables: ['nat'],
  chains: (input) => {
    const sorted = [...input].sort();
    const family = (v6: boolean) => {
      const mine = sorted.filter((e) => e.includes('v6') === v6);
      const extra = mine.filter((e) => e.startsWith('chain:')).map((e): [string, string[]] => [`TOY-${e.slice(6)}`, []]);
      return new Map([['nat', new Map([[toyChain, mine.map((e) => `-A ${toyChain} -m comment --comment ${e}`)], ...extra])]]);
    };
    return { IPv4: family(false), IPv6: family(true) };
  },
  hookJumps: () => [{ table: 'nat', chain: 'PREROUTING', args: ['-j', toyChain] }],
  staticChains: [toyChain],
  cleanupInput: (existing) => ({ IPv4: toyRestore([], existing.IPv4), IPv6: toyRestore([], existing.IPv6) }),
};

/**
 * Wraps a FakeExec so the batch files given to `conntrack -R FILE` are read while they
 * exist (they are deleted after the run): `batches` holds their contents in order.
 */
export function recordConntrackBatches(fake: FakeExec): { exec: Exec; batches: string[] } {
  const batches: string[] = [];
  const exec: Exec = {
    target: fake.target,
    run: (argv, options) => {
      if (argv[0] === 'conntrack' && argv[1] === '-R' && argv[2]) batches.push(readFileSync(argv[2], 'utf8'));
      return fake.run(argv, options);
    },
  };
  return { exec, batches };
}
