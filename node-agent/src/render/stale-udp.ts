/**
 * UDP has no connection end, so conntrack keeps sending a flow to an endpoint that is gone
 * (or keeps a flow that was rejected while a Service had no endpoints) until it times out.
 * The applier deletes those entries after applying the new rules (kube-proxy does the same).
 */
import type { UdpFacts } from './fragment-builder.js';

/**
 * UDP conntrack entries to forget once the new rules are in; the renderer lists them, the
 * applier and exec's conntrack wrappers delete them.
 */
export interface StaleUdpFlow {
  readonly address: string;
  readonly port: number;
  /**
   * Which conntrack tuple to match: `reply-source` (the default) for a removed endpoint
   * (`conntrack -D -p udp --reply-src A --reply-port-src P`), `original-destination` for a
   * frontend that gained endpoints (`conntrack -D -p udp --orig-dst A --dport P`).
   */
  readonly match?: 'reply-source' | 'original-destination';
  /** With reply-source: only the flows sent to this frontend (the endpoint still serves others). */
  readonly frontend?: { readonly address: string; readonly port: number };
}

export const splitEndpoint = (key: string): { address: string; port: number } => {
  const bar = key.lastIndexOf('|');
  return { address: key.slice(0, bar), port: Number(key.slice(bar + 1)) };
};

/**
 * UDP endpoints that were programmed and are no longer, plus UDP frontends that had no
 * endpoints (their flows were rejected or dropped) and now have some. Frontends on
 * "every local address" node ports are not listed (their addresses are not in the plan).
 */
export function staleUdpEndpoints(committed: { udp: UdpFacts } | undefined, desired: { udp: UdpFacts }): StaleUdpFlow[] {
  const out: StaleUdpFlow[] = [];
  for (const key of committed?.udp.endpoints ?? []) {
    if (!desired.udp.endpoints.has(key)) out.push({ ...splitEndpoint(key), match: 'reply-source' });
  }
  // An endpoint still in use elsewhere: forget only the paths it left.
  for (const path of committed?.udp.paths ?? []) {
    if (desired.udp.paths.has(path)) continue;
    const [fAddress, fPort, eAddress, ePort] = path.split('|') as [string, string, string, string];
    if (!desired.udp.endpoints.has(`${eAddress}|${ePort}`)) continue;
    out.push({ address: eAddress, port: Number(ePort), match: 'reply-source', frontend: { address: fAddress, port: Number(fPort) } });
  }
  for (const [key, hasEndpoints] of desired.udp.frontends) {
    if (hasEndpoints && committed?.udp.frontends.get(key) !== true) out.push({ ...splitEndpoint(key), match: 'original-destination' });
  }
  return sortStaleUdp(out);
}

export function sortStaleUdp(out: StaleUdpFlow[]): StaleUdpFlow[] {
  const key = (e: StaleUdpFlow) => `${e.match}|${e.address}|${e.port}|${e.frontend?.address ?? ''}|${e.frontend?.port ?? ''}`;
  return out.sort((a, b) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0));
}
