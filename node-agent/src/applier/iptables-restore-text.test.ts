/**
 * Restoring only the changed chains must leave the kernel holding exactly the new
 * chains, whatever the two plans: pinned with a small interpreter of restore input
 * (declare = create or flush, -A = append, -X = delete) over generated plans.
 */
import { IP_FAMILIES } from '@natplan/netaddr';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { renderIptables, renderIptablesChains } from '../render/index.js';
import { resolvePlan } from '../render/plan.js';
import { renderInput } from '../render/testing/arbitraries.js';
import { chainChanges, fullChanges, restoreText } from './iptables-restore-text.js';
import type { IptablesChains } from './types.js';

type Kernel = Map<string, Map<string, string[]>>;

function restore(kernel: Kernel, text: string): void {
  let table = '';
  for (const line of text.split('\n')) {
    if (line.startsWith('*')) { table = line.slice(1); if (!kernel.has(table)) kernel.set(table, new Map()); continue; }
    const chains = kernel.get(table) as Map<string, string[]>;
    if (line.startsWith(':')) chains.set(line.slice(1).split(' ')[0] ?? '', []);
    else if (line.startsWith('-A ')) chains.get(line.split(' ')[1] ?? '')?.push(line);
    else if (line.startsWith('-X ')) {
      const name = line.slice(3);
      if (chains.get(name)?.length) throw new Error(`-X of a non-empty chain ${name}`);
      chains.delete(name);
    }
  }
}

const plain = (chains: IptablesChains): unknown => Object.fromEntries([...chains].map(([t, c]) => [t, Object.fromEntries(c)]));
const emptyTables = (): Kernel => new Map([['nat', new Map()], ['filter', new Map()]]);

describe('iptables chain changes', () => {
  it('property: restoring only the changed chains turns the first plan\'s chains into the second\'s', () => {
    fc.assert(fc.property(renderInput(4), renderInput(4), (a, b) => {
      const [before, after] = [renderIptablesChains(resolvePlan(a)), renderIptablesChains(resolvePlan(b))];
      for (const family of IP_FAMILIES) {
        const kernel = emptyTables();
        restore(kernel, restoreText(before[family], fullChanges(before[family], new Map())));
        expect(plain(kernel)).toEqual(plain(before[family]));
        const changes = chainChanges(before[family], after[family]);
        if (changes) restore(kernel, restoreText(after[family], changes));
        expect(plain(kernel)).toEqual(plain(after[family]));
        // Only what differs is written.
        for (const [table, names] of changes?.write ?? []) {
          for (const name of names) expect(before[family].get(table)?.get(name)).not.toEqual(after[family].get(table)?.get(name));
        }
      }
    }), { numRuns: 100 });
  });

  it('property: the chains hold the rules of the restore input renderIptables writes', () => {
    fc.assert(fc.property(renderInput(4), (input) => {
      const chains = renderIptablesChains(resolvePlan(input));
      const text = renderIptables(input);
      for (const family of IP_FAMILIES) {
        const kernel = emptyTables();
        restore(kernel, text[family]);
        expect(plain(kernel)).toEqual(plain(chains[family]));
      }
    }), { numRuns: 100 });
  });
});
