/**
 * Parsing and canonical printing of IP addresses and CIDRs. Everything that reaches an
 * nft or iptables script goes through here, so a malformed address becomes a reported
 * problem instead of a broken (or worse, a different) script.
 */

import { formatIPv4Value, formatIPv6Value, networkOf, parseIPv4Value, parseIPv6Value } from '@natplan/netaddr';

export type IpFamily = 'ip' | 'ip6';

export interface ParsedAddress {
  family: IpFamily;
  /** The address as an integer: 32 bits for IPv4, 128 bits for IPv6. */
  value: bigint;
  /** Canonical text (dotted quad, or RFC 5952 compressed IPv6). */
  text: string;
}

export interface ParsedCidr extends ParsedAddress {
  prefix: number;
  /** Canonical `network/prefix`, host bits cleared (nft refuses host bits in a prefix). */
  cidr: string;
}

export function parseAddress(text: string): ParsedAddress | undefined {
  if (typeof text !== 'string') return undefined;
  // No leading zeros: "010" is octal to some parsers and decimal to others.
  const v4 = parseIPv4Value(text);
  // A dotted quad without leading zeros is already canonical.
  if (v4 !== undefined) return { family: 'ip', value: v4, text };
  if (!text.includes(':')) return undefined;
  const v6 = parseIPv6Value(text);
  if (v6 === undefined) return undefined;
  // An IPv4-mapped address would land in the ip6 table but never match there; refuse it.
  if (v6 >> 32n === 0xffffn) return undefined;
  return { family: 'ip6', value: v6, text: formatIPv6Value(v6) };
}

export function parseCidr(text: string): ParsedCidr | undefined {
  if (typeof text !== 'string') return undefined;
  const slash = text.indexOf('/');
  if (slash < 0) return undefined;
  const address = parseAddress(text.slice(0, slash));
  const prefixText = text.slice(slash + 1);
  if (!address || !/^(0|[1-9][0-9]{0,2})$/.test(prefixText)) return undefined;
  const bits = address.family === 'ip' ? 32 : 128;
  const prefix = Number(prefixText);
  if (prefix > bits) return undefined;
  const network = networkOf(address.value, bits, prefix);
  const networkText = address.family === 'ip' ? formatIPv4Value(network) : formatIPv6Value(network);
  return { family: address.family, value: network, text: networkText, prefix, cidr: `${networkText}/${prefix}` };
}

/** Whether `address` lies in `cidr` (both parsed, same family). */
export function cidrContains(cidr: ParsedCidr, address: ParsedAddress): boolean {
  if (cidr.family !== address.family) return false;
  const bits = cidr.family === 'ip' ? 32 : 128;
  const shift = BigInt(bits - cidr.prefix);
  return address.value >> shift === cidr.value >> shift;
}

/** `addr:port` for IPv4, `[addr]:port` for IPv6 — the form nft's dnat and `ip:port` output use. */
export function hostPort(family: IpFamily, address: string, port: number): string {
  return family === 'ip' ? `${address}:${port}` : `[${address}]:${port}`;
}
