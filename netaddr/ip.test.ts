import { describe, expect, it } from 'vitest';
import { formatIPv4Value, formatIPv6Value, isSpecialAddress, networkOf, parseIPv4Value, parseIPv6Value } from './ip.js';

describe('shared IP arithmetic', () => {
  it.each([
    ['10.96.0.1', {}, 0x0a600001n], ['0.0.0.0', {}, 0n], ['255.255.255.255', {}, 0xffffffffn],
    ['010.1.1.1', {}, undefined], ['010.1.1.1', { leadingZeros: true }, 0x0a010101n],
    ['10.96.0.256', {}, undefined], ['10.96.0', {}, undefined], ['10..0.1', {}, undefined], ['1.2.3.4 ', {}, undefined],
  ])('IPv4 %j %j', (text, options, value) => {
    expect(parseIPv4Value(text, options)).toBe(value);
  });

  it.each([
    ['::', 0n], ['::1', 1n], ['fd00:10:96::a', 0xfd000010009600000000000000000000n | 0xan],
    ['2001:db8::50', 0x20010db8000000000000000000000050n], ['::ffff:192.0.2.1', 0xffffc0000201n],
    ['fe80::1%eth0', undefined], ['1::2::3', undefined], ['1:2:3:4:5:6:7:8:9', undefined], ['12345::', undefined], ['::g', undefined],
  ])('IPv6 %j', (text, value) => {
    expect(parseIPv6Value(text)).toBe(value);
  });

  it.each([
    ['2001:0db8:0000:0000:0000:0000:0000:0001', '2001:db8::1'],
    ['2001:db8:0:0:1:0:0:1', '2001:db8::1:0:0:1'], // first of two equal runs
    ['2001:db8:0:1:1:1:1:1', '2001:db8:0:1:1:1:1:1'], // a single zero group stays
    ['FD00:10:96::A', 'fd00:10:96::a'],
  ])('RFC 5952: %s -> %s', (text, canonical) => {
    expect(formatIPv6Value(parseIPv6Value(text)!)).toBe(canonical);
  });

  it('prints IPv4 and clears host bits', () => {
    expect(formatIPv4Value(networkOf(parseIPv4Value('10.244.1.7')!, 32, 24))).toBe('10.244.1.0');
  });

  it.each([
    ['0.0.0.0', true], ['127.0.0.1', true], ['127.255.0.9', true], ['169.254.169.254', true], ['224.0.0.251', true], ['239.1.1.1', true], ['255.255.255.255', true],
    ['1.0.0.0', false], ['126.255.255.255', false], ['128.0.0.1', false], ['169.253.1.1', false], ['192.0.2.10', false], ['223.255.255.255', false], ['240.0.0.1', false],
  ])('IPv4 special %s: %s', (text, special) => {
    expect(isSpecialAddress(parseIPv4Value(text) as bigint, 32)).toBe(special);
  });

  it.each([
    ['::', true], ['::1', true], ['fe80::1', true], ['febf::1', true], ['ff02::1', true],
    ['::2', false], ['fec0::1', false], ['2001:db8::1', false], ['fd00:10:96::a', false],
  ])('IPv6 special %s: %s', (text, special) => {
    expect(isSpecialAddress(parseIPv6Value(text) as bigint, 128)).toBe(special);
  });
});
