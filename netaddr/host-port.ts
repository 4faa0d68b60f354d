/**
 * `host:port` text, parsed and printed in one place: `addr:port` for IPv4 and host names,
 * `[addr]:port` for IPv6 (Go's net.JoinHostPort; the form nft's `dnat to` and iptables'
 * `--to-destination` take and print).
 */

/** `host:port`, with brackets around an IPv6 address. */
export function formatHostPort(host: string, port: number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

/**
 * Parses a listen address `host:port` or `[host]:port`; an empty host (`:8080`) means
 * every IPv4 address, `0.0.0.0`. Undefined without a port in 0-65535.
 */
export function parseHostPort(text: string): { host: string; port: number } | undefined {
  const colon = text.lastIndexOf(':');
  const portText = text.slice(colon + 1);
  const port = Number(portText);
  if (colon < 0 || !/^[0-9]{1,5}$/.test(portText) || port > 65535) return undefined;
  return { host: text.slice(0, colon).replace(/^\[|\]$/g, '') || '0.0.0.0', port };
}
