/**
 * The sandbox's sample workload, created only through the Kubernetes API, and the
 * requests that show each frontend answering.
 */
import { KubernetesObjectApi, type KubernetesObject, type V1Service } from '@kubernetes/client-node';
import { applyStatus, kubeClient } from '@natplan/controller-kit';
import { addresses as A, forwardPort, type Cluster } from '../cluster/index.js';
import { waitFor } from '../control-plane/index.js';
import { tally, tcpProbe, type Host } from '../netns/index.js';

export const NAMESPACE = 'demo';
const LB_IP = '192.0.2.200';
const EXTERNAL_IP = '192.0.2.10';
const PUBLIC_PORT = 8080;
/** The port node-b's agent asks the gateway (miniupnpd) to forward, beside the admin's 8080. */
const MAPPED_PORT = 8081;

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
  // node-b sits behind the NAT gateway (miniupnpd, as on a home router). Two ways to expose
  // the Service there to one allowed internet client: the admin forwards PUBLIC_PORT by
  // hand (and lets it through the router's firewall), and a policy with fromNode Annotation
  // says where; and a policy with fromNode Gateway has node-b's agent ask the gateway for
  // MAPPED_PORT itself (PCP), the status showing the address the gateway reports.
  const wan = cluster.net.wan!;
  await forwardPort(wan.gateway, PUBLIC_PORT, A.nodeAddress(1), PUBLIC_PORT, { publicAddress: wan.addresses.gateway, acceptIn: { table: 'inet miniupnpd', chain: 'forward' } });
  const objects = KubernetesObjectApi.makeApiClient(cluster.cp.kubeConfig);
  // Addresses and ports are granted, not taken: the admin lets namespace demo claim the
  // public port on the address each node's annotation names, and have the gateway asked
  // for the mapped port (README "Who may expose what").
  await objects.create({
    apiVersion: 'natplan.io/v1alpha1', kind: 'NatExposureGrant', metadata: { name: 'demo-public-web' },
    spec: { namespaces: { names: [NAMESPACE] }, addresses: { annotations: ['natplan.io/public-address'] }, ports: [{ protocol: 'TCP', from: PUBLIC_PORT }] },
  } as KubernetesObject);
  await objects.create({
    apiVersion: 'natplan.io/v1alpha1', kind: 'NatExposureGrant', metadata: { name: 'demo-gateway-web' },
    spec: { namespaces: { names: [NAMESPACE] }, addresses: { fromNode: ['Gateway'] }, ports: [{ protocol: 'TCP', from: MAPPED_PORT }] },
  } as KubernetesObject);
  await objects.create({
    apiVersion: 'natplan.io/v1alpha1', kind: 'NatExposurePolicy', metadata: { name: 'web-mapped', namespace: NAMESPACE },
    spec: {
      service: { name: 'web' }, ports: [{ servicePort: 80, externalPort: MAPPED_PORT, protocol: 'TCP' }],
      nodes: { selector: { matchLabels: { 'natplan.io/behind-nat': 'true' } } },
      addresses: { fromNode: 'Gateway' },
      sourceRanges: [`${wan.addresses.internetClient}/32`],
    },
  } as KubernetesObject);
  await objects.create({
    apiVersion: 'natplan.io/v1alpha1', kind: 'NatExposurePolicy', metadata: { name: 'web-public', namespace: NAMESPACE },
    spec: {
      service: { name: 'web' }, ports: [{ servicePort: 80, externalPort: PUBLIC_PORT, protocol: 'TCP' }],
      nodes: { selector: { matchLabels: { 'natplan.io/behind-nat': 'true' } } },
      addresses: { fromNode: 'Annotation', annotation: 'natplan.io/public-address' },
      sourceRanges: [`${wan.addresses.internetClient}/32`],
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
  const W = wan.addresses;
  const cases: { frontend: string; from: string; host: Host; address: string; port: number }[] = [
    { frontend: `cluster IP ${service.spec!.clusterIP}:80`, from: 'a pod on node-b', host: probe, address: service.spec!.clusterIP!, port: 80 },
    { frontend: `node port ${A.nodeAddress(0)}:${nodePort}`, from: `LAN client ${A.LAN_CLIENT}`, host: cluster.net.client, address: A.nodeAddress(0), port: nodePort },
    { frontend: `load-balancer IP ${LB_IP}:80`, from: `LAN client ${A.LAN_CLIENT}`, host: cluster.net.client, address: LB_IP, port: 80 },
    { frontend: `external IP ${EXTERNAL_IP}:80`, from: `LAN client ${A.LAN_CLIENT}`, host: cluster.net.client, address: EXTERNAL_IP, port: 80 },
    { frontend: `NAT exposure ${W.gateway}:${PUBLIC_PORT} (forwarded by hand -> node-b)`, from: `internet client ${W.internetClient}`, host: wan.internetClient, address: W.gateway, port: PUBLIC_PORT },
    { frontend: `NAT exposure ${W.gateway}:${MAPPED_PORT} (mapped by node-b's agent, PCP)`, from: `internet client ${W.internetClient}`, host: wan.internetClient, address: W.gateway, port: MAPPED_PORT },
    { frontend: `NAT exposure ${W.gateway}:${PUBLIC_PORT}`, from: `outsider ${W.outsider} (not in sourceRanges)`, host: wan.outsider, address: W.gateway, port: PUBLIC_PORT },
    { frontend: `NAT exposure ${W.gateway}:${MAPPED_PORT}`, from: `outsider ${W.outsider} (not in sourceRanges)`, host: wan.outsider, address: W.gateway, port: MAPPED_PORT },
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
