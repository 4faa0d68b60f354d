import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { WrittenHashes, canonicalJson, contentHash } from './hash.js';

describe('contentHash', () => {
  it('ignores key order and undefined members but not array order', () => {
    expect(canonicalJson({ b: 1, a: { d: [2, 1], c: undefined } })).toBe('{"a":{"d":[2,1]},"b":1}');
    expect(contentHash({ a: 1, b: 2 })).toBe(contentHash({ b: 2, a: 1 }));
    expect(contentHash([1, 2])).not.toBe(contentHash([2, 1]));
  });

  it('is stable under key shuffling (property)', () => {
    fc.assert(fc.property(fc.dictionary(fc.string(), fc.jsonValue()), (obj) => {
      const reversed = Object.fromEntries(Object.entries(obj).reverse());
      expect(contentHash(reversed)).toBe(contentHash(obj));
      expect(JSON.parse(canonicalJson(obj))).toEqual(JSON.parse(JSON.stringify(obj)));
    }));
  });
});

describe('WrittenHashes', () => {
  it('reports a change only when the content differs from the last record', () => {
    const written = new WrittenHashes();
    expect(written.changed('k', { a: 1 })).toBe(true);
    written.record('k', { a: 1 });
    expect(written.changed('k', { a: 1 })).toBe(false);
    expect(written.changed('k', { a: 2 })).toBe(true);
    written.recordHash('j', contentHash('x'));
    expect(written.changed('j', 'x')).toBe(false);
    written.forget('j');
    expect(written.changed('j', 'x')).toBe(true);
  });
});
