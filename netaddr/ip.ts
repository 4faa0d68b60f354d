/**
 * IP address arithmetic shared by the planner and the renderers: parsing to integers and
 * canonical printing (dotted quad, RFC 5952). Pure and policy-free: each caller decides
 * what it accepts (the planner reads Kubernetes' legacy forms, the renderers only forms
 * that mean one thing to every parser, since their output becomes kernel rules).
 */

export const IPV4_BITS = 32;
export const IPV6_BITS = 128;

export interface IPv4Options {
  /** Accept "010" as decimal 10, as Kubernetes' legacy IP fields do. */
  readonly leadingZeros?: boolean;
}

/** The four octets of a dotted quad, or undefined; plain numbers, since it runs per endpoint. */
export function parseIPv4Octets(text: string, options: IPv4Options = {}): number[] | undefined {
  const parts = text.split('.');
  if (parts.length !== 4) return undefined;
  const octets: number[] = [];
  for (const part of parts) {
    if (part.length === 0 || part.length > 3) return undefined;
    if (!options.leadingZeros && part.length > 1 && part.charCodeAt(0) === 48) return undefined;
    let octet = 0;
    for (let i = 0; i < part.length; i++) {
      const digit = part.charCodeAt(i) - 48;
      if (digit < 0 || digit > 9) return undefined;
      octet = octet * 10 + digit;
    }
    if (octet > 255) return undefined;
    octets.push(octet);
  }
  return octets;
}

/** A dotted quad as a 32-bit integer. */
export function parseIPv4Value(text: string, options: IPv4Options = {}): bigint | undefined {
  const octets = parseIPv4Octets(text, options);
  return octets === undefined ? undefined : BigInt(((octets[0]! * 256 + octets[1]!) * 256 + octets[2]!) * 256 + octets[3]!);
}

/** An IPv6 address (with `::` and an optional dotted-quad tail) as a 128-bit integer; no zones. */
export function parseIPv6Value(text: string, options: IPv4Options = {}): bigint | undefined {
  if (text.length > 45 || !/^[0-9a-fA-F:.]+$/.test(text)) return undefined;
  let body = text;
  const lastColon = body.lastIndexOf(':');
  if (lastColon < 0) return undefined;
  const lastGroup = body.slice(lastColon + 1);
  if (lastGroup.includes('.')) {
    const v4 = parseIPv4Value(lastGroup, options);
    if (v4 === undefined) return undefined;
    body = `${body.slice(0, lastColon + 1)}${(v4 >> 16n).toString(16)}:${(v4 & 0xffffn).toString(16)}`;
  }
  const halves = body.split('::');
  if (halves.length > 2) return undefined;
  const groupsOf = (s: string): string[] => (s === '' ? [] : s.split(':'));
  const head = groupsOf(halves[0] ?? '');
  const tail = halves.length === 2 ? groupsOf(halves[1] ?? '') : [];
  const explicit = head.length + tail.length;
  if (halves.length === 2 ? explicit > 7 : explicit !== 8) return undefined;
  let value = 0n;
  const push = (group: string): boolean => {
    if (!/^[0-9a-fA-F]{1,4}$/.test(group)) return false;
    value = (value << 16n) | BigInt(parseInt(group, 16));
    return true;
  };
  for (const group of head) if (!push(group)) return undefined;
  for (let i = explicit; i < 8; i++) value <<= 16n;
  for (const group of tail) if (!push(group)) return undefined;
  return value;
}

export function formatIPv4Value(value: bigint): string {
  return [24n, 16n, 8n, 0n].map((shift) => String((value >> shift) & 0xffn)).join('.');
}

/** RFC 5952: lowercase, no leading zeros, the longest run (two or more) of zero groups as `::`, the first on a tie. */
export function formatIPv6Value(value: bigint): string {
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

/** The network part of `value` for a prefix of `prefix` bits out of `bits`. */
export function networkOf(value: bigint, bits: number, prefix: number): bigint {
  const hostMask = (1n << BigInt(bits - prefix)) - 1n;
  return value & ~hostMask;
}

/** [network, prefix] of the blocks that are not one host's unicast address, per width. */
const SPECIAL_BLOCKS: Record<number, readonly (readonly [bigint, number])[]> = {
  // 0.0.0.0/8 (this network), 127.0.0.0/8 (loopback), 169.254.0.0/16 (link-local),
  // 224.0.0.0/4 (multicast), 255.255.255.255/32 (broadcast).
  [IPV4_BITS]: [[0n, 8], [0x7f000000n, 8], [0xa9fe0000n, 16], [0xe0000000n, 4], [0xffffffffn, 32]],
  // ::/128 (unspecified), ::1/128 (loopback), fe80::/10 (link-local), ff00::/8 (multicast).
  [IPV6_BITS]: [[0n, 128], [1n, 128], [0xfe80n << 112n, 10], [0xffn << 120n, 8]],
};

/**
 * Whether an address (`bits` wide) is unspecified, loopback, link-local, multicast or the
 * IPv4 broadcast address: never an address a client reaches a node's Service on, and one
 * that would capture the node's own local traffic (loopback) or any traffic (unspecified).
 */
export function isSpecialAddress(value: bigint, bits: number): boolean {
  return (SPECIAL_BLOCKS[bits] ?? []).some(([network, prefix]) => networkOf(value, bits, prefix) === network);
}
