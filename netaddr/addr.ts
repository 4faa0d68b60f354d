/**
 * netip-style addresses and prefixes: one `Addr` and one `Prefix` type for every component,
 * parsed from and printed to canonical text (dotted quad, RFC 5952), over the integer
 * arithmetic of ip.ts. Pure.
 *
 * Parsing is strict by default, as Kubernetes' strict IP validation (KEP-4858) and every
 * kernel-facing consumer want: no leading zeros in an IPv4 octet or a prefix length ("010"
 * is octal to some parsers and decimal to others) and no IPv4-mapped IPv6 address (it
 * would land in the IPv6 table and never match there). `{ legacy: true }` reads what the
 * API server's legacy IP fields accept (k8s.io/utils/net ParseIPSloppy/ParseCIDRSloppy):
 * leading zeros as decimal, IPv4-mapped IPv6 as an IPv6 address. Neither accepts zones or
 * surrounding spaces.
 */
import {
  IPV4_BITS, IPV6_BITS, formatIPv4Value, formatIPv6Value, isSpecialAddress, networkOf, parseIPv4Octets, parseIPv4Value, parseIPv6Value,
} from './ip.js';

/** The IP family, spelled as the Kubernetes API spells it (`ipFamilies`, `addressType`). */
export type IPFamily = 'IPv4' | 'IPv6';

/** Both families, IPv4 first: the order every per-family loop and output uses. */
export const IP_FAMILIES: readonly IPFamily[] = ['IPv4', 'IPv6'];

/** Address width in bits: 32 or 128. */
export const familyBits = (family: IPFamily): number => (family === 'IPv4' ? IPV4_BITS : IPV6_BITS);

export interface ParseOptions {
  /** Kubernetes' legacy parsing (ParseIPSloppy): leading zeros are decimal, IPv4-mapped IPv6 is accepted. */
  readonly legacy?: boolean;
}

/** Kubernetes' legacy parsing, for fields the API server read with ParseIPSloppy. */
export const LEGACY: ParseOptions = { legacy: true };

/** An address: its family and its value as an unsigned integer (32 or 128 bits). */
export interface Addr {
  readonly family: IPFamily;
  readonly value: bigint;
}

/** A prefix (CIDR), normalised to its network address (host bits cleared, as the kernel does). */
export interface Prefix {
  readonly family: IPFamily;
  readonly network: bigint;
  /** The prefix length. */
  readonly bits: number;
}

const isMapped = (value: bigint): boolean => value >> 32n === 0xffffn;

/** Parses an IPv4 or IPv6 address; undefined when the text is not one. */
export function parseAddr(text: string, options: ParseOptions = {}): Addr | undefined {
  if (typeof text !== 'string') return undefined;
  const leadingZeros = options.legacy === true;
  if (!text.includes(':')) {
    const value = parseIPv4Value(text, { leadingZeros });
    return value === undefined ? undefined : { family: 'IPv4', value };
  }
  const value = parseIPv6Value(text, { leadingZeros });
  if (value === undefined || (!options.legacy && isMapped(value))) return undefined;
  return { family: 'IPv6', value };
}

/** Canonical text: dotted decimal for IPv4, RFC 5952 for IPv6. */
export function formatAddr(addr: Addr): string {
  return addr.family === 'IPv4' ? formatIPv4Value(addr.value) : formatIPv6Value(addr.value);
}

/**
 * Canonical text of an address (of `family` when given), or undefined. IPv4 skips BigInt:
 * this runs once per endpoint in the cluster, and the text is nearly always canonical.
 */
export function canonicalAddr(text: string, options: ParseOptions = {}, family?: IPFamily): string | undefined {
  if (typeof text !== 'string') return undefined;
  if (!text.includes(':')) {
    if (family === 'IPv6') return undefined;
    const octets = parseIPv4Octets(text, { leadingZeros: options.legacy === true });
    if (octets === undefined) return undefined;
    // Strict input without leading zeros is canonical already.
    return options.legacy ? octets.join('.') : text;
  }
  if (family === 'IPv4') return undefined;
  const addr = parseAddr(text, options);
  return addr ? formatAddr(addr) : undefined;
}

/** The family of text already known to be an address (say, canonicalAddr's output), without parsing it again. */
export const familyOfValid = (text: string): IPFamily => (text.includes(':') ? 'IPv6' : 'IPv4');

/** The family of an address, or undefined when the text is not one. */
export function familyOf(text: string, options: ParseOptions = {}): IPFamily | undefined {
  return parseAddr(text, options)?.family;
}

/**
 * Whether an address is unspecified, loopback, link-local, multicast or the IPv4 broadcast
 * address: never one a client reaches a node's Service on, and one that would capture the
 * node's own local traffic (loopback) or any traffic (unspecified).
 */
export function isSpecialAddr(addr: Addr): boolean {
  return isSpecialAddress(addr.value, familyBits(addr.family));
}

/** Parses "address/length"; host bits are cleared. Undefined when the text is not a prefix. */
export function parsePrefix(text: string, options: ParseOptions = {}): Prefix | undefined {
  if (typeof text !== 'string') return undefined;
  const slash = text.indexOf('/');
  if (slash < 0) return undefined;
  const addr = parseAddr(text.slice(0, slash), options);
  const lengthText = text.slice(slash + 1);
  if (!addr || !(options.legacy ? /^[0-9]{1,3}$/ : /^(0|[1-9][0-9]{0,2})$/).test(lengthText)) return undefined;
  const bits = Number(lengthText);
  const width = familyBits(addr.family);
  if (bits > width) return undefined;
  return { family: addr.family, network: networkOf(addr.value, width, bits), bits };
}

/** Canonical "network/length" text. */
export function formatPrefix(prefix: Prefix): string {
  return `${formatAddr({ family: prefix.family, value: prefix.network })}/${prefix.bits}`;
}

/** Canonical text of a prefix, or undefined when the text is not one. */
export function canonicalPrefix(text: string, options: ParseOptions = {}): string | undefined {
  const prefix = parsePrefix(text, options);
  return prefix ? formatPrefix(prefix) : undefined;
}

/** Whether the prefix holds the address (always false across families). */
export function prefixContains(prefix: Prefix, addr: Addr): boolean {
  return prefix.family === addr.family && networkOf(addr.value, familyBits(addr.family), prefix.bits) === prefix.network;
}

/** Whether `outer` holds every address of `inner` (false across families). */
export function prefixCovers(outer: Prefix, inner: Prefix): boolean {
  return outer.bits <= inner.bits && prefixContains(outer, { family: inner.family, value: inner.network });
}

/** Whether any of the prefixes holds the address. */
export function anyPrefixContains(prefixes: readonly Prefix[], addr: Addr): boolean {
  return prefixes.some((prefix) => prefixContains(prefix, addr));
}
