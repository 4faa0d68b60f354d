/**
 * The ruleset digest reported in NodeNatPlan status: an order-independent sum of one
 * FNV-1a 64 hash per object (chain with its rules, set definition, element). A sum can be
 * kept up to date as objects come and go, so the element store reports the digest of a
 * 10k-Service ruleset without hashing the whole ruleset on every sync; a fresh ruleset
 * gives the same value (rulesetDigest).
 */
import { fnv1a64Hex } from './hash.js';
import type { ChainState, IpFamily, NftSet, TableState } from './model.js';
import { FAMILIES } from './model.js';

export const chainItem = (family: IpFamily, chain: ChainState): string =>
  `c\0${family}\0${chain.name}\0${chain.base ? JSON.stringify(chain.base) : ''}\0${chain.rules.join('\n')}`;
export const setItem = (definition: NftSet): string => `s\0${JSON.stringify(definition)}`;
export const elementItem = (family: IpFamily, set: string, key: string, value: string): string => `e\0${family}\0${set}\0${key}\0${value}`;

/** Two 32-bit sums of the items' hash halves (mod 2^32), and the item count. */
export class DigestSum {
  private hi = 0;
  private lo = 0;
  private count = 0;

  add(item: string): void { this.step(item, 1); }
  remove(item: string): void { this.step(item, -1); }

  private step(item: string, sign: 1 | -1): void {
    const hex = fnv1a64Hex(item);
    this.hi = (this.hi + sign * parseInt(hex.slice(0, 8), 16)) >>> 0;
    this.lo = (this.lo + sign * parseInt(hex.slice(8), 16)) >>> 0;
    this.count += sign;
  }

  value(): string {
    return `fnv1a64:${fnv1a64Hex(`${this.count}:${this.hi.toString(16)}:${this.lo.toString(16)}`)}`;
  }
}

/** The digest of whole tables, equal to what an element store holding them reports. */
export function tablesDigest(tables: Record<IpFamily, TableState>): string {
  const sum = new DigestSum();
  for (const family of FAMILIES) {
    const table = tables[family];
    for (const chain of table.chains.values()) sum.add(chainItem(family, chain));
    for (const set of table.sets.values()) {
      sum.add(setItem(set.definition));
      for (const [key, value] of set.elements) sum.add(elementItem(family, set.definition.name, key, value));
    }
  }
  return sum.value();
}
