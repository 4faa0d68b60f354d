/**
 * The sandbox's sample workload, created only through the Kubernetes API, and the
 * requests that show each frontend answering.
 */
import { KubernetesObjectApi, type KubernetesObject, type V1Service } from '@kubernetes/client-node';
import { applyStatus } from '../../controller-kit/src/apply.js';
import { kubeClient } from '../../controller-kit/src/kube/client.js';
import { addresses as A, forwardPort, type Cluster } from '../cluster/index.js';
import { waitFor } from '../control-plane/index.js';
import { tally, tcpProbe, type Host } from '../netns/index.js';

export const NAMESPACE = 'demo';
const LB_IP = '192.0.2.200';
const EXTERNAL_IP = '192.0.2.10';
const PUBLIC_PORT = 8080;

export interface Workload { service: V1Service; probe: Host }

export async function deployWorkload(cluster: Cluster): Promise<Workload> {
  await cluster.createNamespace(NAMESPACE);
  await cluster.pods.start(NAMESPACE, 'web-1', 0, { app: 'web' });
  await cluster.pods.start(NAMESPACE, 'web-2', 1, { app: 'web' });
  const probe = (await cluster.pods.start(NAMESPACE, 'client-pod', 1, { app: 'client' })).host;
  await cluster.core.createNamespacedService({
    namespace: NAMESPACE,
    body: { metadata: { name: 'web' }, spec: { type: 'LoadBalancer', selector: { app: 'web' }, externalIPs: [EXTERNAL_IP], ports: [{ name: 'http', port: 80, targetPort: 'http' as never }] } },
  });
  // What a cloud controller writes once its load balancer exists.
  await applyStatus(kubeClient(cluster.cp.kubeConfig), { apiVersion: 'v1', kind: 'Service', metadata: { name: 'web', namespace: NAMESPACE }, status: { loadBalancer: { ingress: [{ ip: LB_IP }] } } } as never, { fieldManager: 'cloud-controller' });
  // node-b sits behind the NAT gateway: the admin forwards the public port to it, and a
  // policy exposes the Service there to one allowed internet client.
  await forwardPort(cluster.net.wan!.gateway, PUBLIC_PORT, A.nodeAddress(1), PUBLIC_PORT);
  const objects = KubernetesObjectApi.makeApiClient(cluster.cp.kubeConfig);
  // Addresses and ports are granted, not taken: the admin lets namespace demo claim the
  // public port on the address each node's annotation names (README "Who may expose what").
  await objects.create({
    apiVersion: 'natplan.io/v1alpha1', kind: 'NatExposureGrant', metadata: { name: 'demo-public-web' },
    spec: { namespaces: { names: [NAMESPACE] }, addresses: { annotations: ['natplan.io/public-address'] }, ports: [{ protocol: 'TCP', from: PUBLIC_PORT }] },
  } as KubernetesObject);
  await objects.create({
    apiVersion: 'natplan.io/v1alpha1', kind: 'NatExposurePolicy', metadata: { name: 'web-public', namespace: NAMESPACE },
    spec: {
      service: { name: 'web' }, ports: [{ servicePort: 80, externalPort: PUBLIC_PORT, protocol: 'TCP' }],
      nodes: { selector: { matchLabels: { 'natplan.io/behind-nat': 'true' } } },
      addresses: { fromNode: 'Annotation', annotation: 'natplan.io/public-address' },
      sourceRanges: [`${A.INTERNET_CLIENT}/32`],
    },
  } as KubernetesObject);
  const service = await cluster.core.readNamespacedService({ name: 'web', namespace: NAMESPACE });
  return { service, probe };
}

export interface Demo { frontend: string; from: string; answers: Record<string, number> }

/** Ten requests through each frontend, once every one of them answers. */
export async function demoRequests(cluster: Cluster, { service, probe }: Workload): Promise<Demo[]> {
  const nodePort = service.spec!.ports![0]!.nodePort!;
  const wan = cluster.net.wan!;
  const cases: { frontend: string; from: string; host: Host; address: string; port: number }[] = [
    { frontend: `cluster IP ${service.spec!.clusterIP}:80`, from: 'a pod on node-b', host: probe, address: service.spec!.clusterIP!, port: 80 },
    { frontend: `node port ${A.nodeAddress(0)}:${nodePort}`, from: `LAN client ${A.LAN_CLIENT}`, host: cluster.net.client, address: A.nodeAddress(0), port: nodePort },
    { frontend: `load-balancer IP ${LB_IP}:80`, from: `LAN client ${A.LAN_CLIENT}`, host: cluster.net.client, address: LB_IP, port: 80 },
    { frontend: `external IP ${EXTERNAL_IP}:80`, from: `LAN client ${A.LAN_CLIENT}`, host: cluster.net.client, address: EXTERNAL_IP, port: 80 },
    { frontend: `NAT exposure ${A.GATEWAY_PUBLIC}:${PUBLIC_PORT} (gateway -> node-b)`, from: `internet client ${A.INTERNET_CLIENT}`, host: wan.internetClient, address: A.GATEWAY_PUBLIC, port: PUBLIC_PORT },
    { frontend: `NAT exposure ${A.GATEWAY_PUBLIC}:${PUBLIC_PORT}`, from: `outsider ${A.OUTSIDER} (not in sourceRanges)`, host: wan.outsider, address: A.GATEWAY_PUBLIC, port: PUBLIC_PORT },
  ];
  const out: Demo[] = [];
  for (const c of cases) {
    const outsider = c.host === wan.outsider;
    const answers = await waitFor(c.frontend, async () => {
      const seen = tally(await tcpProbe(c.host, c.address, c.port, { count: 10, timeoutMs: 500 }));
      const served = Object.keys(seen).filter((k) => !k.startsWith('error:')).length;
      return outsider || served === 2 ? seen : undefined;
    }, 30_000, 250);
    out.push({ frontend: c.frontend, from: c.from, answers });
  }
  return out;
}
