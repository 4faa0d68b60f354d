import type {
  NodeNatPlanExposure, NodeNatPlanSpec, ServiceNatPlanEndpoint, ServiceNatPlanSpec,
} from '@natplan/api';
import { ADDR, ADDR6, POD_TCP_PORT, POD_UDP_PORT } from './cluster.js';
import type { IPFamily } from '@natplan/netaddr';

/** Small builders for plans over the dataplane cluster (see cluster.ts). */

export type PodKey = 'a1' | 'a2' | 'b1';
const POD_ADDRESS: Record<PodKey, string> = { a1: ADDR.podA1, a2: ADDR.podA2, b1: ADDR.podB1 };
const POD_ADDRESS6: Record<PodKey, string> = { a1: ADDR6.podA1, a2: ADDR6.podA2, b1: ADDR6.podB1 };

export function endpoint(pod: PodKey, change: (e: ServiceNatPlanEndpoint) => void = () => {}, family: IPFamily = 'IPv4'): ServiceNatPlanEndpoint {
  const onA = pod !== 'b1';
  const e: ServiceNatPlanEndpoint = {
    address: family === 'IPv4' ? POD_ADDRESS[pod] : POD_ADDRESS6[pod],
    nodeName: onA ? 'node-a' : 'node-b',
    zone: onA ? 'zone-1' : 'zone-2',
    ready: true,
    serving: true,
    terminating: false,
    ports: [{ name: 'tcp', port: POD_TCP_PORT }, { name: 'udp', port: POD_UDP_PORT }],
    forCluster: true,
    forLocal: true,
  };
  change(e);
  return e;
}

export interface ServiceEntry {
  namespace: string;
  name: string;
  spec: ServiceNatPlanSpec;
}

/**
 * A Service `name` with cluster IP `clusterIP`, TCP port 80 and UDP port 53 (target ports
 * 8080 and 5353 on every pod), endpoints on `pods`; `change` adjusts the rest.
 */
export function service(name: string, clusterIP: string, pods: PodKey[], change: (s: ServiceNatPlanSpec) => void = () => {}): ServiceEntry {
  const spec: ServiceNatPlanSpec = {
    service: { name, uid: `uid-${name}` },
    part: 0,
    ipFamilies: ['IPv4'],
    clusterIPs: [clusterIP],
    ports: [{ name: 'tcp', protocol: 'TCP', port: 80 }, { name: 'udp', protocol: 'UDP', port: 53 }],
    externalTrafficPolicy: 'Cluster',
    internalTrafficPolicy: 'Cluster',
    endpoints: pods.map((p) => endpoint(p)),
  };
  spec.endpointCount = spec.endpoints?.length ?? 0;
  change(spec);
  return { namespace: 'default', name, spec };
}

/** Makes a Service built by `service` dual-stack: a second cluster IP and each pod's IPv6 endpoint. */
export function dualStack(spec: ServiceNatPlanSpec, clusterIPv6: string): void {
  spec.ipFamilies = ['IPv4', 'IPv6'];
  spec.clusterIPs = [...(spec.clusterIPs ?? []), clusterIPv6];
  const pods = (spec.endpoints ?? []).map((e) => (Object.keys(POD_ADDRESS) as PodKey[]).find((k) => POD_ADDRESS[k] === e.address));
  spec.endpoints = [...(spec.endpoints ?? []), ...pods.filter((p): p is PodKey => p !== undefined).map((p) => endpoint(p, () => {}, 'IPv6'))];
  spec.endpointCount = spec.endpoints.length;
}

export function nodePlan(node: 'node-a' | 'node-b', change: (n: NodeNatPlanSpec) => void = () => {}): NodeNatPlanSpec {
  const onA = node === 'node-a';
  const spec: NodeNatPlanSpec = {
    nodeName: node,
    zone: onA ? 'zone-1' : 'zone-2',
    nodePortAddresses: onA ? [ADDR.nodeA, ADDR6.nodeA] : [ADDR.nodeB, ADDR6.nodeB],
    podCIDRs: onA ? ['10.244.1.0/24', 'fd00:10:244:1::/64'] : ['10.244.2.0/24', 'fd00:10:244:2::/64'],
    clusterCIDRs: ['10.244.0.0/16', 'fd00:10:244::/56'],
    serviceCIDRs: ['10.96.0.0/16', 'fd00:10:96::/108'],
    masqueradeAll: false,
    backend: 'auto',
  };
  change(spec);
  return spec;
}

export function exposure(service: string, address: string, port: number, change: (x: NodeNatPlanExposure) => void = () => {}): NodeNatPlanExposure {
  const x: NodeNatPlanExposure = {
    policy: { namespace: 'default', name: `expose-${service}` },
    service,
    servicePort: 80,
    address,
    port,
    protocol: 'TCP',
    sourceNAT: 'Masquerade',
  };
  change(x);
  return x;
}
