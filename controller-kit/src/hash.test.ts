import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { canonicalJson, fnv1a64Hex } from './hash.js';

describe('canonicalJson', () => {
  it('sorts keys, drops undefined members, keeps array order', () => {
    expect(canonicalJson({ b: 1, a: [{ d: undefined, c: 'x' }, undefined], e: null })).toBe('{"a":[{"c":"x"},null],"b":1,"e":null}');
    expect(canonicalJson({ a: 1, b: 2 })).toBe(canonicalJson({ b: 2, a: 1 }));
    expect(canonicalJson([1, 2])).not.toBe(canonicalJson([2, 1]));
    expect(canonicalJson(undefined)).toBe('null');
  });

  it('is JSON.stringify up to key order, and stable under key shuffling (property)', () => {
    fc.assert(fc.property(fc.dictionary(fc.string(), fc.jsonValue()), (obj) => {
      const reversed = Object.fromEntries(Object.entries(obj).reverse());
      expect(canonicalJson(reversed)).toBe(canonicalJson(obj));
      expect(JSON.parse(canonicalJson(obj))).toEqual(JSON.parse(JSON.stringify(obj)));
    }));
  });
});

describe('fnv1a64Hex', () => {
  // Reference values of FNV-1a 64 (draft-eastlake-fnv test vectors).
  it.each([
    ['', 'cbf29ce484222325'],
    ['a', 'af63dc4c8601ec8c'],
    ['foobar', '85944171f73967e8'],
  ])('%j -> %s', (text, hex) => { expect(fnv1a64Hex(text)).toBe(hex); });

  const reference = (bytes: Iterable<number>): string => {
    let hash = 0xcbf29ce484222325n;
    for (const byte of bytes) hash = ((hash ^ BigInt(byte)) * 0x100000001b3n) & 0xffffffffffffffffn;
    return hash.toString(16).padStart(16, '0');
  };

  it.each(['é😀x', 'ns1/web:http', '\u{10ffff}z'])('matches a BigInt reference over UTF-8 bytes for %j', (text) => {
    expect(fnv1a64Hex(text)).toBe(reference(new TextEncoder().encode(text)));
  });

  it('over ASCII equals FNV over UTF-16 code units, so names hashed before stay the same (property)', () => {
    fc.assert(fc.property(fc.string({ unit: 'binary-ascii' }), (text) => {
      const units = Array.from({ length: text.length }, (_, i) => text.charCodeAt(i));
      expect(fnv1a64Hex(text)).toBe(reference(units));
    }), { numRuns: 300 });
  });
});
