// IP address and CIDR handling for the planner. The pure core may not import `node:net`
// (lint rule), and the planner needs more than `isIP` anyway: canonical text (so that
// "fd00:10:96::0a" and "fd00:10:96::a" dedupe), family, and prefix containment for the
// external-IP allow-list and node-port address selection.

export type IPFamily = 'IPv4' | 'IPv6';

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

function parseIPv4(text: string): bigint | undefined {
  const parts = text.split('.');
  if (parts.length !== 4) return undefined;
  // Number arithmetic, one BigInt at the end: this runs for every endpoint of the cluster.
  let value = 0;
  for (const part of parts) {
    // Leading zeros are read as decimal, as Kubernetes' ParseIPSloppy does for legacy data.
    if (part.length === 0 || part.length > 3) return undefined;
    let octet = 0;
    for (let i = 0; i < part.length; i++) {
      const digit = part.charCodeAt(i) - 48;
      if (digit < 0 || digit > 9) return undefined;
      octet = octet * 10 + digit;
    }
    if (octet > 255) return undefined;
    value = value * 256 + octet;
  }
  return BigInt(value);
}

function parseHextets(groups: string[]): bigint[] | undefined {
  const out: bigint[] = [];
  for (const group of groups) {
    if (!/^[0-9a-fA-F]{1,4}$/.test(group)) return undefined;
    out.push(BigInt(parseInt(group, 16)));
  }
  return out;
}

function parseIPv6(text: string): bigint | undefined {
  if (text.includes('%')) return undefined; // zone indexes are not Service addresses
  let body = text;
  // An embedded IPv4 tail ("::ffff:192.0.2.1") is rewritten as its two hextets.
  const lastColon = body.lastIndexOf(':');
  const lastGroup = body.slice(lastColon + 1);
  if (lastGroup.includes('.')) {
    const v4 = parseIPv4(lastGroup);
    if (v4 === undefined) return undefined;
    body = `${body.slice(0, lastColon + 1)}${(v4 >> 16n).toString(16)}:${(v4 & 0xffffn).toString(16)}`;
  }
  const halves = body.split('::');
  if (halves.length > 2) return undefined;
  const head = halves[0] === '' ? [] : (halves[0] ?? '').split(':');
  const rest = halves.length === 2 && halves[1] !== '' ? (halves[1] ?? '').split(':') : [];
  const headValues = parseHextets(head);
  const restValues = parseHextets(rest);
  if (!headValues || !restValues) return undefined;
  const explicit = headValues.length + restValues.length;
  let groups: bigint[];
  if (halves.length === 2) {
    if (explicit > 7) return undefined;
    groups = [...headValues, ...new Array<bigint>(8 - explicit).fill(0n), ...restValues];
  } else {
    if (explicit !== 8) return undefined;
    groups = headValues;
  }
  return groups.reduce((acc, g) => (acc << 16n) | g, 0n);
}

/** Parses an IPv4 or IPv6 address; undefined when the text is not one. */
export function parseIP(text: string): ParsedIP | undefined {
  const trimmed = text.trim();
  if (trimmed.includes(':')) {
    const value = parseIPv6(trimmed);
    return value === undefined ? undefined : { family: 'IPv6', value };
  }
  const value = parseIPv4(trimmed);
  return value === undefined ? undefined : { family: 'IPv4', value };
}

/** The family of an address, or undefined when it is not an address. */
export function ipFamilyOf(text: string): IPFamily | undefined {
  return parseIP(text)?.family;
}

/** Canonical text: dotted decimal for IPv4, RFC 5952 for IPv6. */
export function formatIP(ip: ParsedIP): string {
  if (ip.family === 'IPv4') {
    const v = Number(ip.value);
    return `${Math.floor(v / 16_777_216)}.${Math.floor(v / 65_536) % 256}.${Math.floor(v / 256) % 256}.${v % 256}`;
  }
  const groups: number[] = [];
  for (let shift = 112n; shift >= 0n; shift -= 16n) groups.push(Number((ip.value >> shift) & 0xffffn));
  // RFC 5952: compress the longest run (of at least two) zero groups, the first one on a tie.
  let bestStart = -1;
  let bestLength = 1;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) { i++; continue; }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLength) { bestStart = i; bestLength = j - i; }
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (bestStart < 0) return hex.join(':');
  const left = hex.slice(0, bestStart).join(':');
  const right = hex.slice(bestStart + bestLength).join(':');
  return `${left}::${right}`;
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
  const parts = text.trim().split('.');
  if (parts.length !== 4) return undefined;
  const octets: number[] = [];
  for (const part of parts) {
    if (part.length === 0 || part.length > 3) return undefined;
    let octet = 0;
    for (let i = 0; i < part.length; i++) {
      const digit = part.charCodeAt(i) - 48;
      if (digit < 0 || digit > 9) return undefined;
      octet = octet * 10 + digit;
    }
    if (octet > 255) return undefined;
    octets.push(octet);
  }
  return octets.join('.');
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
