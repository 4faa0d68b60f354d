/**
 * The object set of the benchmarks that run against a real API server (vs-kube-proxy,
 * hollow-nodes): N selector-less ClusterIP Services in 10 namespaces, each with one
 * EndpointSlice of 10 ready endpoints written directly (no pods, no controller), and
 * Nodes created through the API (no kubelet). Addresses from the test ranges of
 * e2e/netns/topology.ts: endpoints in 10.244.0.0/14, nodes in 172.18.0.0/16.
 */
import { ApiError, call, isAlreadyExists, type Requester } from '@natplan/controller-kit';

export const NAMESPACES = 10;
export const ENDPOINTS = 10;
/** The pods' range, kube-proxy's --cluster-cidr and the operator's --cluster-cidrs. */
export const POD_RANGE = '10.244.0.0/14';
/** Concurrent creations: enough to keep the API server busy without queueing thousands of sockets. */
const CREATE_CONCURRENCY = 32;
/** Endpoint addresses of the object set repeat after this many (30k x 10 > a /14). */
const ADDRESS_SPACE = 250_000;

export const namespaceOf = (i: number): string => `bench-${i % NAMESPACES}`;
export const serviceName = (i: number): string => `svc-${i}`;

/** Endpoint e of Service i, in 10.244.0.0 - 10.247.208.x; 10.247.250.0/23 is left for changes. */
export function endpointAddress(i: number, e: number): string {
  const n = (i * ENDPOINTS + e) % ADDRESS_SPACE;
  return `10.${244 + (n >> 16)}.${(n >> 8) & 255}.${n & 255}`;
}

/** A fresh address no initial endpoint has: change c of `round` (0-7). */
export function changedAddress(round: number, c: number): string {
  return `10.247.${250 + round}.${(c % 250) + 1}`;
}

function service(i: number) {
  return { apiVersion: 'v1', kind: 'Service', metadata: { namespace: namespaceOf(i), name: serviceName(i) }, spec: { ports: [{ name: 'http', protocol: 'TCP', port: 80, targetPort: 8080 }] } };
}

export interface EndpointSliceBody {
  apiVersion: string;
  kind: string;
  metadata: { namespace: string; name: string; labels: Record<string, string>; annotations?: Record<string, string>; resourceVersion?: string };
  addressType: string;
  endpoints: { addresses: string[]; conditions: { ready: boolean; serving: boolean; terminating: boolean } }[];
  ports: { name: string; protocol: string; port: number }[];
}

function slice(i: number): EndpointSliceBody {
  const endpoints = Array.from({ length: ENDPOINTS }, (_, e) => ({ addresses: [endpointAddress(i, e)], conditions: { ready: true, serving: true, terminating: false } }));
  return {
    apiVersion: 'discovery.k8s.io/v1', kind: 'EndpointSlice',
    metadata: { namespace: namespaceOf(i), name: `${serviceName(i)}-0`, labels: { 'kubernetes.io/service-name': serviceName(i), 'endpointslice.kubernetes.io/managed-by': 'bench' } },
    addressType: 'IPv4', endpoints, ports: [{ name: 'http', protocol: 'TCP', port: 8080 }],
  };
}

async function runLimited(count: number, concurrency: number, task: (i: number) => Promise<unknown>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (next < count) await task(next++);
  }));
}

/** Creates the namespaces, N Services and their EndpointSlices; returns each Service's cluster IP. */
export async function createServices(requester: Requester, n: number): Promise<string[]> {
  // An API server on a busy machine sometimes answers 500 (etcd timed out) or 429: retry those.
  const post = async <T>(path: string, body: object): Promise<T> => {
    for (let attempt = 1; ; attempt++) {
      try {
        return await call<T>(requester, { method: 'POST', path, body: JSON.stringify(body) });
      } catch (err) {
        const status = err instanceof ApiError ? err.statusCode : 0;
        // A timed-out create may have landed after all.
        if (attempt > 1 && isAlreadyExists(err)) return call<T>(requester, { method: 'GET', path: `${path}/${(body as { metadata: { name: string } }).metadata.name}` });
        if (attempt >= 5 || (status !== 429 && status < 500)) throw err;
        await new Promise((resolve) => setTimeout(resolve, 1000 * attempt));
      }
    }
  };
  for (let ns = 0; ns < Math.min(n, NAMESPACES); ns++) await post('/api/v1/namespaces', { metadata: { name: `bench-${ns}` } });
  const clusterIPs: string[] = new Array<string>(n);
  await runLimited(n, CREATE_CONCURRENCY, async (i) => {
    const created = await post<{ spec: { clusterIP: string } }>(`/api/v1/namespaces/${namespaceOf(i)}/services`, service(i));
    clusterIPs[i] = created.spec.clusterIP;
    await post(`/apis/discovery.k8s.io/v1/namespaces/${namespaceOf(i)}/endpointslices`, slice(i));
  });
  return clusterIPs;
}

/** A Node as a kubelet would register it (no kubelet runs): name, pod CIDR, InternalIP. */
export async function createNode(requester: Requester, name: string, internalIP: string, podCIDR: string): Promise<void> {
  await call(requester, {
    method: 'POST', path: '/api/v1/nodes',
    body: JSON.stringify({ metadata: { name, labels: { 'kubernetes.io/hostname': name } }, spec: { podCIDR, podCIDRs: [podCIDR] } }),
  });
  await call(requester, {
    method: 'PATCH', path: `/api/v1/nodes/${name}/status`, contentType: 'application/merge-patch+json',
    body: JSON.stringify({ status: { addresses: [{ type: 'InternalIP', address: internalIP }, { type: 'Hostname', address: name }] } }),
  });
}

/**
 * Replaces the first endpoint of Service i's EndpointSlice with `address`, stamping the
 * trigger-time annotation the EndpointSlice controller would set (kube-proxy and the
 * operator both read it). Resolves with the wall-clock time just before the write.
 */
export async function changeEndpoint(requester: Requester, i: number, address: string): Promise<number> {
  const path = `/apis/discovery.k8s.io/v1/namespaces/${namespaceOf(i)}/endpointslices/${serviceName(i)}-0`;
  const current = await call<EndpointSliceBody>(requester, { method: 'GET', path });
  const [first, ...rest] = current.endpoints;
  if (!first) throw new Error(`${path} has no endpoints`);
  const writtenAt = Date.now();
  const next: EndpointSliceBody = {
    ...current,
    metadata: { ...current.metadata, annotations: { ...current.metadata.annotations, 'endpoints.kubernetes.io/last-change-trigger-time': new Date(writtenAt).toISOString() } },
    endpoints: [{ ...first, addresses: [address] }, ...rest],
  };
  await call(requester, { method: 'PUT', path, body: JSON.stringify(next) });
  return writtenAt;
}

/** How many objects a list would return, read with limit=1 (remainingItemCount). */
export async function countObjects(requester: Requester, path: string): Promise<number> {
  const list = await call<{ items: unknown[]; metadata: { remainingItemCount?: number } }>(requester, { method: 'GET', path, query: { limit: 1 } });
  return list.items.length + (list.metadata.remainingItemCount ?? 0);
}
