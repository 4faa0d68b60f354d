import { describe, expect, it } from 'vitest';
import { fnv1a64Hex } from './hash.js';

describe('fnv1a64Hex', () => {
  // Reference values of FNV-1a 64 (draft-eastlake-fnv test vectors).
  it.each([
    ['', 'cbf29ce484222325'],
    ['a', 'af63dc4c8601ec8c'],
    ['foobar', '85944171f73967e8'],
  ])('%j -> %s', (text, hex) => { expect(fnv1a64Hex(text)).toBe(hex); });
  it.each(['é😀x', 'ns1/web:http', '\u{10ffff}z'])('matches a BigInt reference over UTF-8 bytes for %j', (text) => {
    let hash = 0xcbf29ce484222325n;
    for (const byte of new TextEncoder().encode(text)) hash = ((hash ^ BigInt(byte)) * 0x100000001b3n) & 0xffffffffffffffffn;
    expect(fnv1a64Hex(text)).toBe(hash.toString(16).padStart(16, '0'));
  });
});
