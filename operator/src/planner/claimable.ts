// What no exposure may ever claim, whatever a grant says (DESIGN.md §8). Capturing any
// of these would take traffic that belongs to the cluster itself:
// - ports: the reserved node ports (SSH, API server, kubelet, natplan's own metrics and
//   health, ...) and the node-port range, on any address;
// - addresses: special addresses (unspecified, loopback, link-local, multicast), the
//   Service CIDRs; a Service's cluster IP is reported as a conflict naming the Service;
// - the API server's address:port (flag, and the `kubernetes` Service's endpoints), as a
//   conflict on that address:port, like a node port held by a Service.
import type { V1EndpointSlice, V1Service } from '@kubernetes/client-node';
import type { NatExposurePolicy } from '@natplan/api';
import type { AddressPort, ExposureConfig } from './config.js';
import { compareText } from './endpoints.js';
import { anyPrefixContains, canonicalAddr, formatHostPort, isSpecialAddr, LEGACY, parseAddr, type Prefix } from '@natplan/netaddr';

/** Why a policy is refused before any grant is consulted. */
export type NeverClaimableReason = 'ReservedPort' | 'NodePortRange' | 'SpecialAddress' | 'ServiceCIDR';

export interface Refusal { readonly reason: NeverClaimableReason; readonly message: string }

/** The external ports of a policy that are reserved or in the node-port range: the whole policy is refused. */
export function refusedPorts(policy: NatExposurePolicy, config: Pick<ExposureConfig, 'reservedPorts' | 'nodePortRange'>): Refusal | undefined {
  const reserved = policy.spec.ports.filter((p) => config.reservedPorts.has(p.externalPort)).map((p) => `${p.externalPort}/${p.protocol}`);
  if (reserved.length > 0) {
    return { reason: 'ReservedPort', message: `external ports ${reserved.join(', ')} are reserved for node services (SSH, API server, kubelet, natplan's metrics and health, ...)` };
  }
  const { from, to } = config.nodePortRange;
  const inRange = policy.spec.ports.filter((p) => p.externalPort >= from && p.externalPort <= to).map((p) => `${p.externalPort}/${p.protocol}`);
  if (inRange.length > 0) return { reason: 'NodePortRange', message: `external ports ${inRange.join(', ')} are in the node-port range ${from}-${to}, which belongs to Services` };
  return undefined;
}

/** canonical cluster IP -> "namespace/name" of the Service holding it (first by name when two claim one). */
export function clusterIPOwners(services: readonly V1Service[]): Map<string, string> {
  const owners = new Map<string, string>();
  const sorted = [...services].sort((a, b) => compareText(`${a.metadata?.namespace}/${a.metadata?.name}`, `${b.metadata?.namespace}/${b.metadata?.name}`));
  for (const s of sorted) {
    for (const text of [s.spec?.clusterIP, ...(s.spec?.clusterIPs ?? [])]) {
      const ip = text === undefined ? undefined : canonicalAddr(text, LEGACY);
      if (ip !== undefined && !owners.has(ip)) owners.set(ip, `${s.metadata?.namespace ?? ''}/${s.metadata?.name ?? ''}`);
    }
  }
  return owners;
}

/**
 * Explicit IPs that are special or in a Service CIDR without being a cluster IP (those
 * are conflicts, see clusterIPOwners): the whole policy is refused.
 */
export function refusedAddresses(policy: NatExposurePolicy, serviceCIDRs: readonly Prefix[], clusterIPs: ReadonlyMap<string, string>): Refusal | undefined {
  const special: string[] = [];
  const inServiceRange: string[] = [];
  for (const text of policy.spec.addresses.ips ?? []) {
    const ip = parseAddr(text, LEGACY);
    const canonical = canonicalAddr(text, LEGACY);
    if (!ip || canonical === undefined || clusterIPs.has(canonical)) continue;
    if (isSpecialAddr(ip)) special.push(canonical);
    else if (anyPrefixContains(serviceCIDRs, ip)) inServiceRange.push(canonical);
  }
  if (special.length > 0) return { reason: 'SpecialAddress', message: `${special.join(', ')}: unspecified, loopback, link-local and multicast addresses are never claimable` };
  if (inServiceRange.length > 0) return { reason: 'ServiceCIDR', message: `${inServiceRange.join(', ')} ${inServiceRange.length > 1 ? 'are' : 'is'} in the Service CIDRs, which belong to Services` };
  return undefined;
}

/** "address|port" -> who holds it, for the API server's endpoints (every protocol). */
export function apiServerHolders(endpoints: readonly AddressPort[]): Map<string, string> {
  const held = new Map<string, string>();
  for (const { address, port } of endpoints) {
    const canonical = canonicalAddr(address, LEGACY);
    if (canonical !== undefined) held.set(`${canonical}|${port}`, `the API server (${formatHostPort(canonical, port)})`);
  }
  return held;
}

/** The Service whose endpoints are the API server: `default/kubernetes`. */
export const API_SERVER_SERVICE = { namespace: 'default', name: 'kubernetes' } as const;

/**
 * The API server's address:port pairs from the EndpointSlices of `default/kubernetes`,
 * which the API servers themselves keep current (ready or not: a restarting API server
 * still owns its port).
 */
export function apiServerEndpointsOf(slices: readonly V1EndpointSlice[]): AddressPort[] {
  const out: AddressPort[] = [];
  for (const slice of slices) {
    for (const port of slice.ports ?? []) {
      if (port.port === undefined || (port.protocol ?? 'TCP') !== 'TCP') continue;
      for (const endpoint of slice.endpoints ?? []) {
        for (const address of endpoint.addresses) {
          const canonical = canonicalAddr(address, LEGACY);
          if (canonical !== undefined) out.push({ address: canonical, port: port.port });
        }
      }
    }
  }
  return out;
}
