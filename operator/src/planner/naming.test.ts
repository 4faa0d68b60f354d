import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { canonicalJSON, fnv1a64, servicePlanName, specHash } from './naming.js';

describe('naming', () => {
  it.each([
    ['web', 0, 'web'],
    ['web', 1, 'web.1'],
    ['web', 42, 'web.42'],
  ])('servicePlanName(%j, %d) = %j', (name, part, expected) => {
    expect(servicePlanName(name, part)).toBe(expected);
  });

  it('canonicalJSON is JSON.stringify with sorted keys', () => {
    expect(canonicalJSON({ b: 1, a: [{ d: undefined, c: 'x' }, undefined], e: null })).toBe('{"a":[{"c":"x"},null],"b":1,"e":null}');
    fc.assert(fc.property(fc.jsonValue(), (value) => {
      expect(JSON.parse(canonicalJSON(value))).toEqual(JSON.parse(JSON.stringify(value)));
    }), { numRuns: 200 });
  });

  // Published FNV-1a 64 test vectors (ASCII input, where code units are bytes).
  it.each([
    ['', 'cbf29ce484222325'],
    ['a', 'af63dc4c8601ec8c'],
    ['foobar', '85944171f73967e8'],
  ])('fnv1a64(%j) = %s', (input, expected) => {
    expect(fnv1a64(input)).toBe(expected);
  });

  it('specHash ignores key order and sees every value', () => {
    expect(specHash({ a: 1, b: [1, 2] })).toBe(specHash({ b: [1, 2], a: 1 }));
    expect(specHash({ a: 1, b: [1, 2] })).not.toBe(specHash({ a: 1, b: [2, 1] }));
    expect(specHash({ a: 1 })).toMatch(/^fnv1a64:[0-9a-f]{16}$/);
  });
});
