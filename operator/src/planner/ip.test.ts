import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { canonicalCIDR, canonicalIP, cidrContains, formatIP, parseCIDR, parseIP } from './ip.js';

describe('canonicalIP', () => {
  it.each([
    ['10.96.0.10', '10.96.0.10'],
    ['010.096.000.010', '10.96.0.10'], // legacy leading zeros read as decimal
    [' 192.0.2.1 ', '192.0.2.1'],
    ['fd00:10:96::a', 'fd00:10:96::a'],
    ['FD00:0010:0096:0000:0000:0000:0000:000A', 'fd00:10:96::a'],
    ['2001:db8:0:0:1:0:0:1', '2001:db8::1:0:0:1'], // first of two equal runs is compressed
    ['2001:db8:0:1:1:1:1:1', '2001:db8:0:1:1:1:1:1'], // a single zero group is not compressed
    ['::', '::'],
    ['::1', '::1'],
    ['1::', '1::'],
    ['::ffff:192.0.2.1', '::ffff:c000:201'],
    ['64:ff9b::198.51.100.7', '64:ff9b::c633:6407'],
  ])('%s -> %s', (input, expected) => {
    expect(canonicalIP(input)).toBe(expected);
  });

  it.each(['', '10.96.0', '10.96.0.256', '10.96.0.1.2', '1.2.3.-4', 'fd00::1::2', '1:2:3:4:5:6:7:8:9', '1:2:3:4:5:6:7', 'gggg::1', ':1::', '1::2:', 'fe80::1%eth0', '::ffff:1.2.3', 'node-a'])(
    'rejects %j',
    (input) => {
      expect(parseIP(input)).toBeUndefined();
    },
  );

  it('formats every address so that it parses back to the same value', () => {
    fc.assert(
      fc.property(fc.oneof(fc.ipV4(), fc.ipV6()), (text) => {
        const ip = parseIP(text);
        expect(ip).toBeDefined();
        if (!ip) return;
        expect(parseIP(formatIP(ip))).toEqual(ip);
        expect(canonicalIP(formatIP(ip))).toBe(formatIP(ip));
      }),
      { numRuns: 300 },
    );
  });
});

describe('CIDRs', () => {
  it.each([
    ['10.244.1.7/16', '10.244.0.0/16'],
    ['fd00:10:244:1::5/56', 'fd00:10:244::/56'],
    ['0.0.0.0/0', '0.0.0.0/0'],
    ['203.0.113.9/32', '203.0.113.9/32'],
    ['10.0.0.0/33', undefined],
    ['10.0.0.0', undefined],
    ['10.0.0.0/-1', undefined],
    ['2001:db8::/129', undefined],
  ])('%s -> %s', (input, expected) => {
    expect(canonicalCIDR(input)).toBe(expected);
  });

  it.each([
    ['192.0.2.0/24', '192.0.2.255', true],
    ['192.0.2.0/24', '192.0.3.0', false],
    ['2001:db8::/32', '2001:db8:ffff::1', true],
    ['2001:db8::/32', '2001:db9::1', false],
    ['0.0.0.0/0', '2001:db8::1', false], // never across families
    ['::/0', '192.0.2.1', false],
  ])('%s contains %s: %s', (cidr, ip, expected) => {
    const parsedCIDR = parseCIDR(cidr);
    const parsedIP = parseIP(ip);
    expect(parsedCIDR && parsedIP && cidrContains(parsedCIDR, parsedIP)).toBe(expected);
  });
});
