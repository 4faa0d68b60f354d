/**
 * Parsing and canonical printing of IP addresses and CIDRs. Everything that reaches an
 * nft or iptables script goes through here, so a malformed address becomes a reported
 * problem instead of a broken (or worse, a different) script.
 */

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

const IPV4 = /^(0|[1-9][0-9]{0,2})\.(0|[1-9][0-9]{0,2})\.(0|[1-9][0-9]{0,2})\.(0|[1-9][0-9]{0,2})$/;

function parseIPv4(text: string): bigint | undefined {
  // No leading zeros: "010" is octal to some parsers and decimal to others. Plain numbers,
  // one BigInt at the end: this runs for every endpoint address (100k+ per render).
  const m = IPV4.exec(text);
  if (!m) return undefined;
  let value = 0;
  for (let i = 1; i <= 4; i++) {
    const n = Number(m[i]);
    if (n > 255) return undefined;
    value = value * 256 + n;
  }
  return BigInt(value);
}

function parseIPv6(text: string): bigint | undefined {
  if (!/^[0-9a-fA-F:.]+$/.test(text) || text.length > 45) return undefined;
  let head = text;
  let tailV4: bigint | undefined;
  const lastColon = text.lastIndexOf(':');
  if (text.includes('.')) {
    tailV4 = parseIPv4(text.slice(lastColon + 1));
    if (tailV4 === undefined) return undefined;
    head = `${text.slice(0, lastColon + 1)}0:0`;
  }
  const halves = head.split('::');
  if (halves.length > 2) return undefined;
  const toGroups = (s: string): string[] => (s === '' ? [] : s.split(':'));
  const left = toGroups(halves[0] ?? '');
  const right = halves.length === 2 ? toGroups(halves[1] ?? '') : [];
  const missing = 8 - left.length - right.length;
  if (halves.length === 2 ? missing < 1 : missing !== 0) return undefined;
  const groups = [...left, ...Array<string>(halves.length === 2 ? missing : 0).fill('0'), ...right];
  let value = 0n;
  for (const group of groups) {
    if (!/^[0-9a-fA-F]{1,4}$/.test(group)) return undefined;
    value = (value << 16n) | BigInt(parseInt(group, 16));
  }
  if (tailV4 !== undefined) value = (value & ~0xffffffffn) | tailV4;
  return value;
}

function formatIPv4(value: bigint): string {
  return [24n, 16n, 8n, 0n].map((shift) => String((value >> shift) & 0xffn)).join('.');
}

/** RFC 5952: lowercase, leading zeros dropped, the longest run (>1) of zero groups as `::`. */
function formatIPv6(value: bigint): string {
  const groups = Array.from({ length: 8 }, (_, i) => Number((value >> BigInt(112 - 16 * i)) & 0xffffn));
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
  return `${hex.slice(0, bestStart).join(':')}::${hex.slice(bestStart + bestLength).join(':')}`;
}

export function parseAddress(text: string): ParsedAddress | undefined {
  if (typeof text !== 'string') return undefined;
  const v4 = parseIPv4(text);
  // A dotted quad without leading zeros is already canonical.
  if (v4 !== undefined) return { family: 'ip', value: v4, text };
  if (!text.includes(':')) return undefined;
  const v6 = parseIPv6(text);
  if (v6 === undefined) return undefined;
  // An IPv4-mapped address would land in the ip6 table but never match there; refuse it.
  if (v6 >> 32n === 0xffffn) return undefined;
  return { family: 'ip6', value: v6, text: formatIPv6(v6) };
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
  const hostMask = (1n << BigInt(bits - prefix)) - 1n;
  const network = address.value & ~hostMask;
  const networkText = address.family === 'ip' ? formatIPv4(network) : formatIPv6(network);
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
