/**
 * netaddr: IP addresses, prefixes and `host:port` text for every component, pure and
 * dependency-free. ip.ts holds the integer arithmetic underneath and is not part of the API.
 */
export {
  IP_FAMILIES, LEGACY, familyBits, parseAddr, formatAddr, canonicalAddr, familyOf, familyOfValid, isSpecialAddr,
  parsePrefix, formatPrefix, canonicalPrefix, prefixContains, prefixCovers, anyPrefixContains,
  type Addr, type IPFamily, type ParseOptions, type Prefix,
} from './addr.js';
export { formatHostPort, parseHostPort } from './host-port.js';
