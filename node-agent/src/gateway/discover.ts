/**
 * Which gateway to ask: the next hop of the node's IPv4 default route, as NAT-PMP
 * (RFC 6886 section 3) and PCP clients (RFC 6887 section 8.1) find their server, unless
 * the admin names one (--gateway). Read through the exec boundary, so in tests it is the
 * node namespace's route.
 */
import type { Exec } from '../exec/index.js';

/** The first IPv4 default route's gateway in `ip -j route show default` output; undefined when none. */
export function parseDefaultGateway(json: string): string | undefined {
  let routes: unknown;
  try {
    routes = JSON.parse(json || '[]');
  } catch {
    return undefined;
  }
  if (!Array.isArray(routes)) return undefined;
  for (const route of routes as { dst?: string; gateway?: string }[]) {
    if (route.dst === 'default' && typeof route.gateway === 'string' && /^\d+\.\d+\.\d+\.\d+$/.test(route.gateway)) return route.gateway;
  }
  return undefined;
}

/** `setting` is 'auto' (the default route) or an address. */
export async function findGateway(exec: Exec, setting: string): Promise<string | undefined> {
  if (setting !== 'auto') return setting;
  const { stdout } = await exec.run(['ip', '-4', '-j', 'route', 'show', 'default']);
  return parseDefaultGateway(stdout);
}
