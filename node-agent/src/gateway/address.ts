import { formatAddr, parseAddr } from '@natplan/netaddr';

/** ::ffff:0:0/96, the prefix PCP puts in front of an IPv4 address (RFC 6887 section 5). */
const V4_MAPPED_PREFIX = 0xffffn << 32n;

/** An address as PCP's 16-byte field: IPv6 as is, IPv4 as an IPv4-mapped IPv6 address. */
export function encodePcpAddress(address: string): Uint8Array {
  const addr = parseAddr(address);
  if (addr === undefined) throw new Error(`not an IP address: ${JSON.stringify(address)}`);
  const value = addr.family === 'IPv4' ? V4_MAPPED_PREFIX | addr.value : addr.value;
  const bytes = new Uint8Array(16);
  for (let i = 0; i < 16; i++) bytes[i] = Number((value >> BigInt(120 - 8 * i)) & 0xffn);
  return bytes;
}

/** PCP's 16-byte address field as text: IPv4-mapped addresses print as dotted quads. */
export function decodePcpAddress(bytes: Uint8Array): string {
  if (bytes.length !== 16) throw new Error(`a PCP address has 16 bytes, got ${bytes.length}`);
  let value = 0n;
  for (const byte of bytes) value = (value << 8n) | BigInt(byte);
  return formatAddr(value >> 32n === 0xffffn ? { family: 'IPv4', value: value & 0xffffffffn } : { family: 'IPv6', value });
}

/** Four bytes (NAT-PMP's external address) as a dotted quad. */
export function decodeIPv4(bytes: Uint8Array): string {
  return Array.from(bytes.subarray(0, 4)).join('.');
}
