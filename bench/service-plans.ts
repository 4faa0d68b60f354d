/**
 * The ServiceNatPlans and the NodeNatPlan of the agent benchmarks that run without an API
 * server (agent-sync, agent-memory): N Services of 10 endpoints each, node-a's plan.
 * Addresses follow the project's test ranges (cluster IPs 10.96.0.0/16, pods
 * 10.244.0.0/16 with this node's pods in 10.244.1.0/24, nodes 172.18.0.0/16).
 */
import type { NodeNatPlan, ServiceNatPlan, ServiceNatPlanEndpoint } from '@natplan/api';

export const NODE = 'node-a';
export const PER_SERVICE = 10;

function endpoint(service: number, k: number, perService: number): ServiceNatPlanEndpoint {
  const local = k === 0 && service % 3 === 0;
  const n = service * perService + k;
  const address = local ? `10.244.1.${(service % 250) + 2}` : `10.${245 + ((n >> 16) & 7)}.${(n >> 8) & 255}.${n & 255}`;
  return {
    address, nodeName: local ? NODE : `node-${(n % 99) + 1}`, zone: 'zone-1', ready: true, serving: true, terminating: false,
    ports: [{ name: 'http', port: 8080 }], forCluster: true, forLocal: true,
  };
}

/**
 * ServiceNatPlan i: a cluster IP; every 10th a NodePort, every 50th a LoadBalancer with
 * Local policy. `endpointShift` gives it other endpoints (a change).
 */
export function plan(i: number, version: number, endpointShift = 0, perService = PER_SERVICE): ServiceNatPlan {
  const nodePort = i % 10 === 0 ? { nodePort: 30000 + ((i / 10) % 2700) } : {};
  const lb = i % 50 === 0;
  return {
    apiVersion: 'natplan.io/v1alpha1', kind: 'ServiceNatPlan',
    metadata: { namespace: `ns-${i % 50}`, name: `svc-${i}`, uid: `uid-${i}`, resourceVersion: String(version) },
    spec: {
      service: { name: `svc-${i}` }, part: 0, ipFamilies: ['IPv4'],
      clusterIPs: [`10.96.${(i >> 8) & 255}.${i & 255}`],
      ports: [{ name: 'http', protocol: 'TCP', port: 80, ...nodePort }],
      ...(lb ? { loadBalancerIPs: [`203.0.${113 + ((i >> 8) & 3)}.${i & 255}`], externalTrafficPolicy: 'Local' as const } : {}),
      endpoints: Array.from({ length: perService }, (_, k) => endpoint(i + endpointShift, k, perService)),
    },
  };
}

export const nodePlan: NodeNatPlan = {
  apiVersion: 'natplan.io/v1alpha1', kind: 'NodeNatPlan', metadata: { name: NODE, uid: 'node-uid', resourceVersion: '1', generation: 1 },
  spec: { nodeName: NODE, zone: 'zone-1', nodePortAddresses: ['172.18.0.2'], podCIDRs: ['10.244.1.0/24'], clusterCIDRs: ['10.244.0.0/14'], exposures: [] },
};

/**
 * Plan i as the agent's informer holds it: parsed from the API server's JSON, with the
 * metadata the operator writes (labels, owner reference, creation time; managedFields
 * are stripped by the cache).
 */
export function cachedPlan(i: number, version: number): ServiceNatPlan {
  const { metadata, spec, ...rest } = plan(i, version);
  const uid = (n: number) => `0f6b9c1e-1111-4c5e-9a1b-${String(n).padStart(12, '0')}`;
  const served = {
    ...rest,
    metadata: {
      ...metadata, uid: uid(i), generation: 1, creationTimestamp: '2026-12-03T08:00:00Z',
      labels: { 'natplan.io/service-name': `svc-${i}` },
      ownerReferences: [{ apiVersion: 'v1', kind: 'Service', name: `svc-${i}`, uid: uid(i + 1_000_000), controller: true, blockOwnerDeletion: true }],
    },
    spec: { ...spec, triggerTime: '2026-12-03T08:00:00Z' },
  };
  return JSON.parse(JSON.stringify(served)) as ServiceNatPlan;
}
