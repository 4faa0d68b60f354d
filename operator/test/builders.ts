/**
 * Builders for the Kubernetes objects operator tests create. Test address ranges (fixed
 * for the project): cluster IPs 10.96.0.0/16 (the test API server allocates them); pod IPs
 * 10.244.0.0/16 and fd00:10:244::/56; node addresses 172.18.0.0/16; external,
 * load-balancer and client addresses from 192.0.2.0/24, 198.51.100.0/24, 203.0.113.0/24.
 */
import type { V1EndpointSlice, V1Node, V1Service } from '@kubernetes/client-node';
import type { NatExposureGrant, NatExposurePolicy } from '@natplan/api';

export function makeNode(name: string, address: string, mutate: (n: V1Node) => void = () => {}): V1Node {
  const node: V1Node = {
    apiVersion: 'v1', kind: 'Node',
    metadata: { name, labels: { 'topology.kubernetes.io/zone': 'zone-1', 'kubernetes.io/hostname': name } },
    spec: { podCIDR: undefined },
    status: { addresses: [{ type: 'InternalIP', address }, { type: 'Hostname', address: name }] },
  };
  mutate(node);
  return node;
}

export function makeService(namespace: string, name: string, mutate: (s: V1Service) => void = () => {}): V1Service {
  const service: V1Service = {
    apiVersion: 'v1', kind: 'Service',
    metadata: { name, namespace },
    spec: { type: 'ClusterIP', selector: { app: name }, ports: [{ name: 'http', port: 80, targetPort: 8080, protocol: 'TCP' }] },
  };
  mutate(service);
  return service;
}

export interface EndpointInput { ip: string; node: string; ready?: boolean; serving?: boolean; terminating?: boolean }

/** An EndpointSlice as the EndpointSlice controller would write it. */
export function makeSlice(namespace: string, service: string, name: string, endpoints: EndpointInput[], port = 8080): V1EndpointSlice {
  return {
    apiVersion: 'discovery.k8s.io/v1', kind: 'EndpointSlice',
    metadata: {
      name, namespace,
      labels: { 'kubernetes.io/service-name': service, 'endpointslice.kubernetes.io/managed-by': 'endpointslice-controller.k8s.io' },
      annotations: { 'endpoints.kubernetes.io/last-change-trigger-time': new Date().toISOString().replace(/\.\d+Z$/, 'Z') },
    },
    addressType: endpoints[0]?.ip.includes(':') ? 'IPv6' : 'IPv4',
    ports: [{ name: 'http', port, protocol: 'TCP' }],
    endpoints: endpoints.map((e) => ({
      addresses: [e.ip],
      nodeName: e.node,
      zone: 'zone-1',
      conditions: { ready: e.ready ?? true, serving: e.serving ?? e.ready ?? true, terminating: e.terminating ?? false },
    })),
  };
}

export function makePolicy(namespace: string, name: string, spec: NatExposurePolicy['spec']): NatExposurePolicy {
  return { apiVersion: 'natplan.io/v1alpha1', kind: 'NatExposurePolicy', metadata: { name, namespace }, spec };
}

export function makeGrant(name: string, spec: NatExposureGrant['spec']): NatExposureGrant {
  return { apiVersion: 'natplan.io/v1alpha1', kind: 'NatExposureGrant', metadata: { name }, spec };
}
