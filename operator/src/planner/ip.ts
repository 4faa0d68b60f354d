// IP address and CIDR handling for the planner. The pure core may not import `node:net`
// (lint rule), and the planner needs more than `isIP` anyway: canonical text (so that
// "fd00:10:96::0a" and "fd00:10:96::a" dedupe), family, and prefix containment for the
// external-IP allow-list and node-port address selection.

import { formatIPv4Value, formatIPv6Value, parseIPv4Octets, parseIPv4Value, parseIPv6Value } from '@natplan/netaddr';

export type IPFamily = 'IPv4' | 'IPv6';

/** Kubernetes' legacy IP fields accept leading zeros ("010" is 10); so does the planner. */
const LEGACY = { leadingZeros: true } as const;

/** A parsed address: its family and its value as an unsigned integer (32 or 128 bits). */
export interface ParsedIP {
  readonly family: IPFamily;
  readonly value: bigint;
}

/** A parsed CIDR, normalised to its network address (host bits cleared). */
export interface ParsedCIDR {
  readonly family: IPFamily;
  readonly network: bigint;
  readonly prefixLength: number;
}

const BITS: Record<IPFamily, number> = { IPv4: 32, IPv6: 128 };

/** Parses an IPv4 or IPv6 address; undefined when the text is not one. */
export function parseIP(text: string): ParsedIP | undefined {
  const trimmed = text.trim();
  if (trimmed.includes(':')) {
    const value = parseIPv6Value(trimmed, LEGACY);
    return value === undefined ? undefined : { family: 'IPv6', value };
  }
  const value = parseIPv4Value(trimmed, LEGACY);
  return value === undefined ? undefined : { family: 'IPv4', value };
}

/** The family of an address, or undefined when it is not an address. */
export function ipFamilyOf(text: string): IPFamily | undefined {
  return parseIP(text)?.family;
}

/** Canonical text: dotted decimal for IPv4, RFC 5952 for IPv6. */
export function formatIP(ip: ParsedIP): string {
  return ip.family === 'IPv4' ? formatIPv4Value(ip.value) : formatIPv6Value(ip.value);
}

/** Canonical text of an address, or undefined when the text is not an address. */
export function canonicalIP(text: string): string | undefined {
  const ip = parseIP(text);
  return ip ? formatIP(ip) : undefined;
}

/** Canonical text of an address of the given family, or undefined. */
export function canonicalIPOfFamily(text: string, family: IPFamily): string | undefined {
  const ip = parseIP(text);
  return ip?.family === family ? formatIP(ip) : undefined;
}

/**
 * Canonical text of an IPv4 address without going through BigInt: this runs once per
 * endpoint in the cluster, and the text is nearly always canonical already.
 */
export function canonicalIPv4(text: string): string | undefined {
  return parseIPv4Octets(text.trim(), LEGACY)?.join('.');
}

/** Parses "address/prefix"; host bits are cleared, as the kernel does for a set element. */
export function parseCIDR(text: string): ParsedCIDR | undefined {
  const slash = text.indexOf('/');
  if (slash < 0) return undefined;
  const ip = parseIP(text.slice(0, slash));
  const prefixText = text.slice(slash + 1).trim();
  if (!ip || !/^[0-9]{1,3}$/.test(prefixText)) return undefined;
  const prefixLength = Number(prefixText);
  const bits = BITS[ip.family];
  if (prefixLength > bits) return undefined;
  const hostBits = BigInt(bits - prefixLength);
  const network = (ip.value >> hostBits) << hostBits;
  return { family: ip.family, network, prefixLength };
}

/** Canonical "network/prefix" text of a CIDR. */
export function formatCIDR(cidr: ParsedCIDR): string {
  return `${formatIP({ family: cidr.family, value: cidr.network })}/${cidr.prefixLength}`;
}

/** Canonical text of a CIDR, or undefined when the text is not one. */
export function canonicalCIDR(text: string): string | undefined {
  const cidr = parseCIDR(text);
  return cidr ? formatCIDR(cidr) : undefined;
}

/** Whether the CIDR holds the address (always false across families). */
export function cidrContains(cidr: ParsedCIDR, ip: ParsedIP): boolean {
  if (cidr.family !== ip.family) return false;
  const hostBits = BigInt(BITS[ip.family] - cidr.prefixLength);
  return (ip.value >> hostBits) << hostBits === cidr.network;
}

/** Whether any of the CIDRs holds the address. */
export function anyCIDRContains(cidrs: readonly ParsedCIDR[], ip: ParsedIP): boolean {
  return cidrs.some((cidr) => cidrContains(cidr, ip));
}
