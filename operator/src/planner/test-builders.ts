// Builders for planner tests (kube-proxy's makeTestService style): a sensible default
// object, changed by an optional mutator.
//
// Test address ranges, fixed once for the project:
//   cluster IPs 10.96.0.0/16 and fd00:10:96::/108; pod IPs 10.244.0.0/16 and fd00:10:244::/56;
//   node addresses 172.18.0.0/16 and fd00:172:18::/64; external, load-balancer and client
//   addresses 192.0.2.0/24, 198.51.100.0/24, 203.0.113.0/24 and 2001:db8::/32.
import type { V1Endpoint, V1EndpointSlice, V1Node, V1Service } from '@kubernetes/client-node';
import type { NatExposureGrant, NatExposurePolicy } from '@natplan/api';
import { compilePlannerConfig, type PlannerConfig, type PlannerSettings } from './config.js';

export function makeConfig(overrides: Partial<PlannerSettings> = {}): PlannerConfig {
  const compiled = compilePlannerConfig({
    mode: 'replace',
    proxyName: 'natplan',
    externalIPAllowList: ['192.0.2.0/24', '2001:db8::/32'],
    clusterCIDRs: ['10.244.0.0/16', 'fd00:10:244::/56'],
    masqueradeAll: false,
    backend: 'auto',
    ...overrides,
  });
  if (!compiled.ok) throw new Error(compiled.errors.join('; '));
  return compiled.config;
}

/** A ClusterIP Service with one TCP port "http" 80 -> 8080 on 10.96.0.10. */
export function makeService(namespace: string, name: string, mutate?: (s: V1Service) => void): V1Service {
  const service: V1Service = {
    metadata: { namespace, name, uid: `uid-${namespace}-${name}` },
    spec: {
      type: 'ClusterIP',
      clusterIP: '10.96.0.10',
      clusterIPs: ['10.96.0.10'],
      ipFamilies: ['IPv4'],
      ports: [{ name: 'http', protocol: 'TCP', port: 80, targetPort: 8080 }],
    },
  };
  mutate?.(service);
  return service;
}

export interface EndpointOptions {
  node?: string;
  zone?: string;
  ready?: boolean;
  serving?: boolean;
  terminating?: boolean;
  zoneHints?: string[];
  nodeHints?: string[];
}

export function makeEndpoint(address: string, options: EndpointOptions = {}): V1Endpoint {
  const conditions: NonNullable<V1Endpoint['conditions']> = {};
  if (options.ready !== undefined) conditions.ready = options.ready;
  if (options.serving !== undefined) conditions.serving = options.serving;
  if (options.terminating !== undefined) conditions.terminating = options.terminating;
  const endpoint: V1Endpoint = { addresses: [address], conditions };
  if (options.node !== undefined) endpoint.nodeName = options.node;
  if (options.zone !== undefined) endpoint.zone = options.zone;
  if (options.zoneHints) endpoint.hints = { forZones: options.zoneHints.map((name) => ({ name })) };
  if (options.nodeHints) endpoint.hints = { ...endpoint.hints, forNodes: options.nodeHints.map((name) => ({ name })) };
  return endpoint;
}

/** An IPv4 slice with port "http" 8080/TCP, holding the given endpoints. */
export function makeSlice(service: string, name: string, endpoints: V1Endpoint[], mutate?: (s: V1EndpointSlice) => void): V1EndpointSlice {
  const slice: V1EndpointSlice = {
    metadata: { name, labels: { 'kubernetes.io/service-name': service } },
    addressType: 'IPv4',
    endpoints,
    ports: [{ name: 'http', protocol: 'TCP', port: 8080 }],
  };
  mutate?.(slice);
  return slice;
}

/** A node with InternalIP 172.18.0.<n>, zone zone-1 and pod CIDR 10.244.<n>.0/24. */
export function makeNode(name: string, n: number, mutate?: (node: V1Node) => void): V1Node {
  const node: V1Node = {
    metadata: { name, labels: { 'topology.kubernetes.io/zone': 'zone-1' } },
    spec: { podCIDR: `10.244.${n}.0/24`, podCIDRs: [`10.244.${n}.0/24`] },
    status: { addresses: [{ type: 'InternalIP', address: `172.18.0.${n}` }, { type: 'Hostname', address: name }] },
  };
  mutate?.(node);
  return node;
}

/** A policy exposing Service "web" port 80 as 8080/TCP on each node's InternalIP, masqueraded. */
export function makePolicy(namespace: string, name: string, created: string, mutate?: (p: NatExposurePolicy) => void): NatExposurePolicy {
  const policy: NatExposurePolicy = {
    apiVersion: 'natplan.io/v1alpha1',
    kind: 'NatExposurePolicy',
    metadata: { namespace, name, generation: 1, creationTimestamp: new Date(created) },
    spec: {
      service: { name: 'web' },
      ports: [{ servicePort: 80, externalPort: 8080, protocol: 'TCP' }],
      addresses: { fromNode: 'InternalIP' },
      sourceNAT: 'Masquerade',
    },
  };
  mutate?.(policy);
  return policy;
}

/** A grant letting namespace "default" claim TCP 8080 on each node's InternalIP. */
export function makeGrant(name: string, mutate?: (g: NatExposureGrant) => void): NatExposureGrant {
  const grant: NatExposureGrant = {
    apiVersion: 'natplan.io/v1alpha1',
    kind: 'NatExposureGrant',
    metadata: { name },
    spec: {
      namespaces: { names: ['default'] },
      addresses: { fromNode: ['InternalIP'] },
      ports: [{ protocol: 'TCP', from: 8080 }],
    },
  };
  mutate?.(grant);
  return grant;
}

/**
 * A grant of every address kind and port to every namespace: for tests about something
 * else than authority (what is never claimable stays refused all the same).
 */
export const grantEverything = (): NatExposureGrant => makeGrant('everything', (g) => {
  g.spec.namespaces = { selector: {} };
  g.spec.addresses = { cidrs: ['0.0.0.0/0', '::/0'], fromNode: ['ExternalIP', 'InternalIP'], annotations: ['natplan.io/public-address'] };
  g.spec.ports = (['TCP', 'UDP', 'SCTP'] as const).map((protocol) => ({ protocol, from: 1, to: 65_535 }));
});
