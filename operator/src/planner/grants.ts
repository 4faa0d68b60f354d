// Authority over addresses and ports (DESIGN.md §8): a NatExposurePolicy may claim an
// address and an external port only when some NatExposureGrant, written by a cluster
// admin, selects the policy's namespace and covers both. No grant, nothing exposed.
// The idea of MetalLB's address pools with namespace selectors and of Gateway API's
// allowedRoutes: the owner of a resource says who may use it, not the user.
import type { V1Namespace } from '@kubernetes/client-node';
import type { NatExposureGrant, NatExposurePolicy } from '@natplan/api';
import { compareText } from './endpoints.js';
import { anyPrefixContains, familyBits, LEGACY, parseAddr, parsePrefix, type Prefix } from '@natplan/netaddr';
import { selectorMatches, type Labels } from './labels.js';

/** A grant with its CIDRs parsed. Entries that do not parse grant nothing. */
export interface CompiledGrant {
  readonly name: string;
  readonly cidrs: readonly Prefix[];
  readonly fromNode: ReadonlySet<string>;
  readonly annotations: ReadonlySet<string>;
  readonly ports: readonly { readonly protocol: string; readonly from: number; readonly to: number }[];
}

function compileGrant(grant: NatExposureGrant): CompiledGrant {
  const cidrs: Prefix[] = [];
  for (const text of grant.spec.addresses.cidrs ?? []) {
    const ip = parseAddr(text, LEGACY);
    const cidr = ip ? parsePrefix(`${text}/${familyBits(ip.family)}`, LEGACY) : parsePrefix(text, LEGACY);
    if (cidr) cidrs.push(cidr);
  }
  return {
    name: grant.metadata?.name ?? '',
    cidrs,
    fromNode: new Set(grant.spec.addresses.fromNode ?? []),
    annotations: new Set(grant.spec.addresses.annotations ?? []),
    ports: grant.spec.ports.map((p) => ({ protocol: p.protocol, from: p.from, to: p.to ?? p.from })),
  };
}

/** The grants that apply to a namespace, by name. */
export type GrantsOf = (namespace: string) => readonly CompiledGrant[];

/**
 * Indexes the grants by the namespaces they select. A namespace missing from `namespaces`
 * (not in the cache yet) has no labels: only grants naming it, or selecting without
 * requiring a label, apply to it.
 */
export function indexGrants(grants: readonly NatExposureGrant[], namespaces: readonly V1Namespace[]): GrantsOf {
  const compiled = [...grants]
    .sort((a, b) => compareText(a.metadata?.name ?? '', b.metadata?.name ?? ''))
    .map((g) => ({ grant: g, compiled: compileGrant(g) }));
  const labels = new Map<string, Labels>(namespaces.map((n) => [n.metadata?.name ?? '', n.metadata?.labels] as const));
  const memo = new Map<string, CompiledGrant[]>();
  return (namespace) => {
    let found = memo.get(namespace);
    if (!found) {
      found = compiled
        .filter(({ grant: { spec: { namespaces: who } } }) => (who.names ?? []).includes(namespace)
          || (who.selector !== undefined && selectorMatches(who.selector, labels.get(namespace))))
        .map((g) => g.compiled);
      memo.set(namespace, found);
    }
    return found;
  };
}

/** One address a policy claims, as a grant sees it. */
type AddressSource = { readonly kind: 'ip'; readonly text: string } | { readonly kind: 'fromNode'; readonly type: string; readonly annotation?: string };

function describe(source: AddressSource): string {
  if (source.kind === 'ip') return source.text;
  if (source.type === 'Gateway') return 'a port mapping on the gateway in front of the node';
  return source.type === 'Annotation' ? `node annotation ${source.annotation ?? ''}` : `node ${source.type}`;
}

function coversAddress(grant: CompiledGrant, source: AddressSource): boolean {
  if (source.kind === 'ip') {
    const ip = parseAddr(source.text, LEGACY);
    return ip !== undefined && anyPrefixContains(grant.cidrs, ip);
  }
  if (source.type === 'Annotation') return source.annotation !== undefined && grant.annotations.has(source.annotation);
  return grant.fromNode.has(source.type);
}

const coversPort = (grant: CompiledGrant, protocol: string, port: number): boolean =>
  grant.ports.some((r) => r.protocol === protocol && r.from <= port && port <= r.to);

/**
 * What a policy claims that no grant of its namespace allows, as "address port/protocol"
 * texts (empty: everything is granted). Each address and port must be covered by ONE
 * grant together: two grants, one for the address and one for the port, are not enough.
 * `skip` holds explicit IPs judged elsewhere (cluster IPs, reported as conflicts).
 */
export function ungrantedClaims(policy: NatExposurePolicy, grants: readonly CompiledGrant[], skip: ReadonlySet<string> = new Set()): string[] {
  const { addresses, ports } = policy.spec;
  const sources: AddressSource[] = addresses.ips
    ? addresses.ips.filter((text) => !skip.has(text)).map((text) => ({ kind: 'ip', text }))
    : [{ kind: 'fromNode', type: addresses.fromNode ?? '', ...(addresses.annotation !== undefined ? { annotation: addresses.annotation } : {}) }];
  const missing: string[] = [];
  for (const source of sources) {
    for (const { externalPort, protocol } of ports) {
      if (!grants.some((g) => coversAddress(g, source) && coversPort(g, protocol, externalPort))) missing.push(`${describe(source)} ${externalPort}/${protocol}`);
    }
  }
  return missing;
}
