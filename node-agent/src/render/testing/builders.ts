/**
 * Builders for renderer tests (kube-proxy's makeTestService style).
 *
 * Test address ranges, used everywhere in these tests:
 *   cluster IPs   10.96.0.0/16 and fd00:10:96::/108
 *   pod IPs       10.244.0.0/16 and fd00:10:244::/56 (this node: 10.244.1.0/24, fd00:10:244:1::/64)
 *   node addresses 172.18.0.0/16 and fd00:172:18::/64 (this node: 172.18.0.2, fd00:172:18::2)
 *   external, load-balancer and client addresses: 192.0.2.0/24, 198.51.100.0/24,
 *   203.0.113.0/24 and 2001:db8::/32
 */
import type { NodeNatPlanExposure, NodeNatPlanSpec, ServiceNatPlanEndpoint, ServiceNatPlanSpec } from '@natplan/api';
import type { RenderInput } from '../plan.js';

export const THIS_NODE = 'node-a';
export const THIS_ZONE = 'zone-1';

export type ServiceEntry = RenderInput['services'][number];

export function makeServicePlan(namespace: string, name: string, edit: (s: ServiceNatPlanSpec) => void = () => {}, part = 0): ServiceEntry {
  const spec: ServiceNatPlanSpec = part === 0
    ? { service: { name }, part, ipFamilies: ['IPv4'], clusterIPs: ['10.96.0.10'], ports: [{ name: 'http', protocol: 'TCP', port: 80 }], endpoints: [] }
    : { service: { name }, part, endpoints: [] };
  edit(spec);
  return { namespace, name: part === 0 ? name : `${name}.${part}`, spec };
}

/** A ready endpoint serving port `http` (and `dns`) with both flags set; edit to change. */
export function makeEndpoint(address: string, edit: (e: ServiceNatPlanEndpoint) => void = () => {}): ServiceNatPlanEndpoint {
  const endpoint: ServiceNatPlanEndpoint = {
    address, nodeName: 'node-b', zone: 'zone-2', ready: true, serving: true, terminating: false,
    ports: [{ name: 'http', port: 8080 }, { name: 'dns', port: 5353 }], forCluster: true, forLocal: true,
  };
  edit(endpoint);
  return endpoint;
}

export function makeNodePlan(edit: (n: NodeNatPlanSpec) => void = () => {}): NodeNatPlanSpec {
  const node: NodeNatPlanSpec = {
    nodeName: THIS_NODE, zone: THIS_ZONE,
    nodePortAddresses: ['172.18.0.2', 'fd00:172:18::2'],
    podCIDRs: ['10.244.1.0/24', 'fd00:10:244:1::/64'],
    clusterCIDRs: ['10.244.0.0/16', 'fd00:10:244::/56'],
    // What the operator writes by default when it knows the cluster CIDRs.
    localTraffic: { mode: 'ClusterCIDR', cidrs: ['10.244.0.0/16', 'fd00:10:244::/56'] },
    exposures: [],
  };
  edit(node);
  return node;
}

export function makeExposure(service: string, edit: (x: NodeNatPlanExposure) => void = () => {}): NodeNatPlanExposure {
  const exposure: NodeNatPlanExposure = {
    policy: { namespace: 'ns1', name: 'policy1' }, service, servicePort: 80,
    address: '172.18.0.2', port: 8080, protocol: 'TCP', sourceNAT: 'Masquerade',
  };
  edit(exposure);
  return exposure;
}

export function makeInput(services: ServiceEntry[], editNode: (n: NodeNatPlanSpec) => void = () => {}): RenderInput {
  return { node: makeNodePlan(editNode), services, identity: { nodeName: THIS_NODE, zone: THIS_ZONE } };
}
