import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  canonicalAddr, canonicalPrefix, familyOf, formatAddr, isSpecialAddr, parseAddr, parsePrefix, prefixContains, prefixCovers, type ParseOptions,
} from './index.js';

// Addresses from the documentation ranges (192.0.2.0/24, 203.0.113.0/24, 2001:db8::/32)
// and the cluster ranges the tests use elsewhere (10.96.0.0/12, 10.244.0.0/16, fd00::/8).
const STRICT: ParseOptions = {};
const LEGACY: ParseOptions = { legacy: true };

describe('parseAddr / formatAddr', () => {
  it.each([
    ['10.96.0.10', '10.96.0.10'],
    ['2001:DB8:0:0::1', '2001:db8::1'],
    ['FD00:0010:0096:0000:0000:0000:0000:000A', 'fd00:10:96::a'],
    ['2001:db8:0:0:1:0:0:1', '2001:db8::1:0:0:1'], // the first of two equal zero runs is compressed
    ['2001:db8:0:1:1:1:1:1', '2001:db8:0:1:1:1:1:1'], // a single zero group is not
    ['2001:db8:0:1:0:0:1:0', '2001:db8:0:1::1:0'],
    ['::', '::'], ['::1', '::1'], ['1::', '1::'],
    ['2001:db8::192.0.2.1', '2001:db8::c000:201'],
    ['64:ff9b::198.51.100.7', '64:ff9b::c633:6407'],
  ])('%s -> %s, strict and legacy alike', (text, canonical) => {
    for (const options of [STRICT, LEGACY]) {
      const addr = parseAddr(text, options);
      expect(addr && formatAddr(addr)).toBe(canonical);
      expect(canonicalAddr(text, options)).toBe(canonical);
    }
  });

  it.each<[string, string | undefined, string | undefined]>([
    // Kubernetes' legacy IP fields read leading zeros as decimal (ParseIPSloppy); strict refuses them.
    ['010.096.000.010', undefined, '10.96.0.10'],
    ['::ffff:010.1.1.1', undefined, '::ffff:a01:101'],
    // IPv4-mapped IPv6: an IPv6 address to legacy parsing, refused by strict parsing.
    ['::ffff:192.0.2.1', undefined, '::ffff:c000:201'],
  ])('%s: strict %s, legacy %s', (text, strict, legacy) => {
    expect(canonicalAddr(text, STRICT)).toBe(strict);
    expect(canonicalAddr(text, LEGACY)).toBe(legacy);
    expect(parseAddr(text, STRICT) && formatAddr(parseAddr(text, STRICT)!)).toBe(strict);
    expect(parseAddr(text, LEGACY) && formatAddr(parseAddr(text, LEGACY)!)).toBe(legacy);
  });

  it.each(['', '10.96.0', '256.1.1.1', '10.96.0.1.2', '1.2.3.-4', 'fd00::1::2', '2001:db8:::1', '1:2:3:4:5:6:7:8:9', '1:2:3:4:5:6:7',
    'gggg::1', ':1::', '1::2:', 'fe80::1%eth0', '::ffff:1.2.3', 'node-a', ' 10.0.0.1', '192.0.2.1 '])('refuses %j, strict and legacy', (text) => {
    expect(parseAddr(text, STRICT)).toBeUndefined();
    expect(parseAddr(text, LEGACY)).toBeUndefined();
    expect(canonicalAddr(text, LEGACY)).toBeUndefined();
  });

  it('canonicalAddr with a family refuses the other family', () => {
    expect(canonicalAddr('10.0.0.1', STRICT, 'IPv6')).toBeUndefined();
    expect(canonicalAddr('fd00::1', STRICT, 'IPv4')).toBeUndefined();
    expect(canonicalAddr('fd00::01', STRICT, 'IPv6')).toBe('fd00::1');
    expect(familyOf('fd00::1')).toBe('IPv6');
    expect(familyOf('10.0.0.1')).toBe('IPv4');
  });

  it('formats every address so that it parses back to the same value (property)', () => {
    fc.assert(fc.property(fc.oneof(fc.ipV4(), fc.ipV6()), (text) => {
      const addr = parseAddr(text, LEGACY);
      expect(addr).toBeDefined();
      if (!addr) return;
      expect(parseAddr(formatAddr(addr), LEGACY)).toEqual(addr);
      expect(canonicalAddr(formatAddr(addr), LEGACY)).toBe(formatAddr(addr));
    }), { numRuns: 300 });
  });

  it.each([['127.0.0.1', true], ['169.254.169.254', true], ['192.0.2.10', false], ['fe80::1', true], ['2001:db8::1', false]])('isSpecialAddr(%s) = %s', (text, special) => {
    expect(isSpecialAddr(parseAddr(text)!)).toBe(special);
  });
});

describe('parsePrefix', () => {
  it.each([
    ['10.244.1.7/16', '10.244.0.0/16'], // host bits cleared, as the kernel does for a set element
    ['fd00:10:244:1::5/56', 'fd00:10:244::/56'],
    ['0.0.0.0/0', '0.0.0.0/0'],
    ['203.0.113.9/32', '203.0.113.9/32'],
  ])('%s -> %s', (text, canonical) => {
    expect(canonicalPrefix(text, STRICT)).toBe(canonical);
    expect(canonicalPrefix(text, LEGACY)).toBe(canonical);
  });

  it.each(['10.0.0.0/33', '10.0.0.0', '10.0.0.0/-1', '::/129', '10.0.0.0/ 8', '10.0.0.0/'])('refuses %j', (text) => {
    expect(parsePrefix(text, STRICT)).toBeUndefined();
    expect(parsePrefix(text, LEGACY)).toBeUndefined();
  });

  it('reads leading zeros only with legacy parsing', () => {
    expect(canonicalPrefix('10.0.0.0/08')).toBeUndefined();
    expect(canonicalPrefix('010.0.0.0/8')).toBeUndefined();
    expect(canonicalPrefix('010.0.0.0/08', LEGACY)).toBe('10.0.0.0/8');
  });

  it.each([
    ['192.0.2.0/24', '192.0.2.255', true],
    ['192.0.2.0/24', '192.0.3.0', false],
    ['2001:db8::/32', '2001:db8:ffff::1', true],
    ['2001:db8::/32', '2001:db9::1', false],
    ['0.0.0.0/0', '2001:db8::1', false], // never across families
    ['::/0', '192.0.2.1', false],
  ])('%s contains %s: %s', (prefix, addr, expected) => {
    expect(prefixContains(parsePrefix(prefix)!, parseAddr(addr)!)).toBe(expected);
  });

  it.each([
    ['10.244.0.0/16', '10.244.1.0/24', true],
    ['10.244.1.0/24', '10.244.0.0/16', false],
    ['10.244.0.0/16', '10.244.0.0/16', true],
    ['10.244.0.0/16', '10.245.0.0/24', false],
    ['::/0', '10.0.0.0/8', false],
  ])('%s covers %s: %s', (outer, inner, expected) => {
    expect(prefixCovers(parsePrefix(outer)!, parsePrefix(inner)!)).toBe(expected);
  });
});
