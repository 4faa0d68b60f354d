/**
 * The ruleset digest reported in NodeNatPlan status: an order-independent sum of one
 * hash per object (chain with its rules, set definition, element). A sum can be
 * kept up to date as objects come and go, so the element store reports the digest of a
 * 10k-Service ruleset without hashing the whole ruleset on every sync; a fresh ruleset
 * gives the same value (rulesetDigest).
 */
import { fnv1a64Hex } from '@natplan/controller-kit/hash';
import type { ChainState, IPFamily, NftSet, TableState } from './model.js';
import { FAMILIES, nftFamily } from './model.js';

/**
 * Two independent 32-bit FNV-1a-style hashes of the parts (separated by a NUL), folded
 * into a running sum. Cheaper than a 64-bit FNV over a joined string: no concatenation
 * and 32-bit integer multiplies only, which matters at 220k elements per cold start.
 */
function hashParts(parts: readonly string[]): [number, number] {
  let a = 0x811c9dc5;
  let b = 0x01000193 ^ parts.length;
  for (const part of parts) {
    for (let i = 0; i < part.length; i++) {
      const c = part.charCodeAt(i);
      a = Math.imul(a ^ c, 0x01000193);
      b = Math.imul(b ^ c, 0x5bd1e995);
      b ^= b >>> 15;
    }
    a = Math.imul(a, 0x01000193);
    b = Math.imul(b ^ 0xff, 0x5bd1e995);
  }
  return [a >>> 0, b >>> 0];
}

/** The hash of one element: hashParts of its parts (elementParts' order). */
const hashElement = (family: string, set: string, key: string, value: string): [number, number] => hashParts(['e', family, set, key, value]);

export const chainParts = (family: IPFamily, chain: ChainState): string[] =>
  ['c', nftFamily(family), chain.name, chain.base ? JSON.stringify(chain.base) : '', ...chain.rules];
export const setParts = (definition: NftSet): string[] => ['s', JSON.stringify(definition)];
export const elementParts = (family: IPFamily, set: string, key: string, value: string): string[] => ['e', nftFamily(family), set, key, value];

/** Two 32-bit sums of the items' hashes (mod 2^32), and the item count. */
export class DigestSum {
  private hi = 0;
  private lo = 0;
  private count = 0;

  add(parts: readonly string[]): void { this.step(hashParts(parts), 1); }
  remove(parts: readonly string[]): void { this.step(hashParts(parts), -1); }
  /** add/remove of an element without building its parts list (the store's hot path). */
  element(family: IPFamily, set: string, key: string, value: string, sign: 1 | -1): void {
    this.step(hashElement(nftFamily(family), set, key, value), sign);
  }

  private step([a, b]: [number, number], sign: 1 | -1): void {
    this.hi = (this.hi + sign * a) >>> 0;
    this.lo = (this.lo + sign * b) >>> 0;
    this.count += sign;
  }

  value(): string {
    return `fnv1a64:${fnv1a64Hex(`${this.count}:${this.hi.toString(16)}:${this.lo.toString(16)}`)}`;
  }
}

/** The digest of whole tables, equal to what an element store holding them reports. */
export function tablesDigest(tables: Record<IPFamily, TableState>): string {
  const sum = new DigestSum();
  for (const family of FAMILIES) {
    const table = tables[family];
    for (const chain of table.chains.values()) sum.add(chainParts(family, chain));
    for (const set of table.sets.values()) {
      sum.add(setParts(set.definition));
      for (const [key, value] of set.elements) sum.add(elementParts(family, set.definition.name, key, value));
    }
  }
  return sum.value();
}
