/**
 * natplan tried as a user would: one cluster on this machine (real kube-apiserver, etcd
 * and EndpointSlice controller; two operator replicas; an agent per node enforcing in its
 * node's namespace; a NAT gateway in front of node-b), driven only through the Kubernetes
 * API, every scenario asserted with real traffic. Addresses: e2e/cluster/addresses.ts.
 */
import { KubernetesObjectApi, type KubernetesObject, type V1Service } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { applyStatus, kubeClient } from '@natplan/controller-kit';
import { addresses as A, Cluster, forwardPort, type Pod } from '../cluster/index.js';
import { waitFor } from '../control-plane/index.js';
import { holdConnections, tally, tcpProbe, type Host } from '../netns/index.js';

const NS = 'shop';
let cluster: Cluster;
let probePod: Host;
const web: Pod[] = [];

async function createService(name: string, mutate: (s: V1Service) => void = () => {}): Promise<V1Service> {
  const body: V1Service = { metadata: { name }, spec: { selector: { app: name }, ports: [{ name: 'http', port: 80, targetPort: 'http' as never }] } };
  mutate(body);
  return cluster.core.createNamespacedService({ namespace: NS, body });
}

const servers = async (from: Host, address: string, port: number, count = 20) => tally(await tcpProbe(from, address, port, { count, timeoutMs: 1000 }));
/** Every probe of one round answered, by both endpoints: a round that began before the
 * rules were complete (a refused connect) does not count, the next one decides. */
const servedByBoth = (seen: Record<string, number>): boolean => Object.keys(seen).sort().join() === 'web-1,web-2';

async function eventually(what: string, from: Host, address: string, port: number, want: (seen: Record<string, number>) => boolean) {
  return waitFor(what, async () => { const seen = await servers(from, address, port); return want(seen) ? seen : undefined; }, 30_000, 250);
}

beforeAll(async () => {
  cluster = await Cluster.start({ nodes: 2, operators: 2, gateway: true });
  await cluster.createNamespace(NS);
  // The web workload runs on node-a only, so node-b reaches it across nodes.
  web.push(await cluster.pods.start(NS, 'web-1', 0, { app: 'web' }));
  web.push(await cluster.pods.start(NS, 'web-2', 0, { app: 'web' }));
  probePod = (await cluster.pods.start(NS, 'probe', 1, { app: 'probe' })).host;
}, 180_000);

afterAll(async () => { await cluster?.stop(); });

describe('Services, as kube-proxy would serve them', () => {
  let svc: V1Service;
  beforeAll(async () => {
    svc = await createService('web', (s) => { s.spec!.type = 'LoadBalancer'; s.spec!.externalIPs = ['192.0.2.10']; });
    // What a cloud controller would write once its load balancer exists.
    await applyStatus(kubeClient(cluster.cp.kubeConfig), { apiVersion: 'v1', kind: 'Service', metadata: { name: 'web', namespace: NS }, status: { loadBalancer: { ingress: [{ ip: '192.0.2.200' }] } } } as never, { fieldManager: 'cloud-controller' });
  });

  it('ClusterIP from a pod on another node reaches every endpoint', async () => {
    const seen = await eventually('cluster IP from node-b', probePod, svc.spec!.clusterIP!, 80, servedByBoth);
    expect(Object.keys(seen).sort()).toEqual(['web-1', 'web-2']);
  });

  it('NodePort from an outside client, on either node', async () => {
    const nodePort = svc.spec!.ports![0]!.nodePort!;
    for (const node of [A.nodeAddress(0), A.nodeAddress(1)]) {
      const seen = await eventually(`node port on ${node}`, cluster.net.client, node, nodePort, servedByBoth);
      expect(Object.keys(seen).sort()).toEqual(['web-1', 'web-2']);
    }
  });

  it('the load-balancer IP and the external IP', async () => {
    for (const ip of ['192.0.2.200', '192.0.2.10']) {
      const seen = await eventually(`frontend ${ip}`, cluster.net.client, ip, 80, servedByBoth);
      expect(Object.keys(seen).sort()).toEqual(['web-1', 'web-2']);
    }
  });

  it('externalTrafficPolicy Local preserves the client address and drops on nodes without a local endpoint', async () => {
    await cluster.pods.start(NS, 'local-1', 0, { app: 'local' });
    const local = await createService('local', (s) => { s.spec!.type = 'NodePort'; s.spec!.externalTrafficPolicy = 'Local'; });
    const nodePort = local.spec!.ports![0]!.nodePort!;
    await eventually('local service', cluster.net.client, A.nodeAddress(0), nodePort, (s) => !!s['local-1']);
    const results = await tcpProbe(cluster.net.client, A.nodeAddress(0), nodePort, { count: 5 });
    expect(results.map((r) => (r.ok ? r.seen : r.error))).toEqual(Array(5).fill(A.LAN_CLIENT));
    const elsewhere = await tcpProbe(cluster.net.client, A.nodeAddress(1), nodePort, { count: 2, timeoutMs: 500 });
    expect(elsewhere.every((r) => !r.ok)).toBe(true);
  });

  it('a Service without endpoints refuses connections', async () => {
    const empty = await createService('empty');
    await waitFor('reject in place', async () => {
      const [r] = await tcpProbe(probePod, empty.spec!.clusterIP!, 80, { count: 1, timeoutMs: 500 });
      return r && !r.ok && r.error === 'ECONNREFUSED' ? true : undefined;
    }, 30_000, 250);
  });
});

describe('changes under load', () => {
  it('rolling replacement of every backend loses no request', async () => {
    const svc = await cluster.core.readNamespacedService({ name: 'web', namespace: NS });
    const load = await holdConnections(cluster.net.client, A.nodeAddress(1), svc.spec!.ports![0]!.nodePort!, { connections: 1, intervalMs: 40, durationMs: 12_000 });
    for (const [i, old] of [...web.entries()]) {
      const replacement = await cluster.pods.start(NS, `web-${i + 3}`, i % 2, { app: 'web' });
      await eventually(`${replacement.name} serving`, cluster.net.client, A.nodeAddress(1), svc.spec!.ports![0]!.nodePort!, (s) => !!s[replacement.name]);
      await cluster.pods.beginTermination(old);
      // The old endpoint leaves every node's rules before its server stops.
      await waitFor(`${old.name} out of rotation`, async () => {
        for (const node of [A.nodeName(0), A.nodeName(1)]) if ((await cluster.rulesOn(node)).includes(`${old.address} `)) return undefined;
        return true;
      }, 30_000, 100);
      await cluster.pods.finish(old);
      web[i] = replacement;
    }
    const summary = await load.done;
    expect(summary.newFailed, JSON.stringify(summary.newErrors)).toBe(0);
    expect(summary.newOk).toBeGreaterThan(50);
  });

  it('an agent restart under load loses no connection and flushes no rule', async () => {
    const svc = await cluster.core.readNamespacedService({ name: 'web', namespace: NS });
    const rulesBefore = await cluster.rulesOn(A.nodeName(1));
    const load = await holdConnections(cluster.net.client, A.nodeAddress(1), svc.spec!.ports![0]!.nodePort!, { connections: 5, intervalMs: 40, durationMs: 5000 });
    await cluster.stopAgent(A.nodeName(1));
    expect(await cluster.rulesOn(A.nodeName(1))).toBe(rulesBefore);
    const agent = await cluster.startAgent(A.nodeName(1));
    expect(await agent.syncNow()).toBe(true);
    const summary = await load.done;
    expect(summary).toMatchObject({ brokenAtStart: 0, pingFailures: 0, closedEarly: 0, newFailed: 0 });
    expect(summary.newOk).toBeGreaterThan(20);
  });

  it('operator failover: the standby takes over and programs new Services', async () => {
    const leader = await waitFor('a leader', async () => cluster.leader(), 20_000);
    await cluster.stopOperator(leader);
    const next = await waitFor('a new leader', async () => cluster.leader(), 20_000, 100);
    expect(next).not.toBe(leader);
    await cluster.pods.start(NS, 'after-1', 1, { app: 'after' });
    const after = await createService('after');
    await eventually('Service created after failover', probePod, after.spec!.clusterIP!, 80, (s) => !!s['after-1']);
    await cluster.startOperator(leader); // back to two replicas
  });
});

describe('a node behind a NAT gateway', () => {
  it('is reachable at the gateway\'s public address through a NatExposurePolicy, for allowed clients only', async () => {
    const wan = cluster.net.wan!;
    // The admin forwards the gateway's public port 8080 to node-b, as on any NAT router.
    await forwardPort(wan.gateway, 8080, A.nodeAddress(1), 8080);
    await createService('public-web', (s) => { s.spec!.selector = { app: 'web' }; });
    const objects = KubernetesObjectApi.makeApiClient(cluster.cp.kubeConfig);
    // Without a grant nothing is exposed: the admin grants the public port on annotated addresses.
    await objects.create({
      apiVersion: 'natplan.io/v1alpha1', kind: 'NatExposureGrant', metadata: { name: 'public-web' },
      spec: { namespaces: { names: [NS] }, addresses: { annotations: ['natplan.io/public-address'] }, ports: [{ protocol: 'TCP', from: 8080 }] },
    } as KubernetesObject);
    await objects.create({
      apiVersion: 'natplan.io/v1alpha1', kind: 'NatExposurePolicy', metadata: { name: 'public-web', namespace: NS },
      spec: {
        service: { name: 'public-web' }, ports: [{ servicePort: 80, externalPort: 8080, protocol: 'TCP' }],
        nodes: { selector: { matchLabels: { 'natplan.io/behind-nat': 'true' } } },
        addresses: { fromNode: 'Annotation', annotation: 'natplan.io/public-address' },
        sourceRanges: [`${A.INTERNET_CLIENT}/32`], sourceNAT: 'Masquerade',
      },
    } as KubernetesObject);
    const status = await waitFor('policy Programmed', async () => {
      const p = JSON.parse((await cluster.kubectl('get', 'natexposurepolicy', 'public-web', '-n', NS, '-o', 'json')).stdout);
      return p.status?.conditions?.some((c: { type: string; status: string }) => c.type === 'Programmed' && c.status === 'True') ? p.status : undefined;
    }, 30_000, 250);
    expect(status.publicEndpoints).toEqual([{ node: 'node-b', service: 'public-web', address: A.GATEWAY_PUBLIC, port: 8080, protocol: 'TCP', readyEndpoints: 2 }]);
    const seen = await eventually('through the gateway', wan.internetClient, A.GATEWAY_PUBLIC, 8080, (s) => Object.keys(s).every((k) => k.startsWith('web-')) && Object.keys(s).length === 2);
    expect(Object.values(seen).reduce((a, b) => a + b, 0)).toBe(20);
    const outsider = await tcpProbe(wan.outsider, A.GATEWAY_PUBLIC, 8080, { count: 3, timeoutMs: 500 });
    expect(outsider.every((r) => !r.ok)).toBe(true);
  });
});

describe('kubectl', () => {
  it('get nodenatplans shows every node Ready with the counts it enforces', async () => {
    // Counts move in status at most once per status period (5 s here), conditions at once.
    const rows = await waitFor('settled status', async () => {
      const out = (await cluster.kubectl('get', 'nodenatplans', '--no-headers')).stdout.trim().split('\n').map((l) => l.trim().split(/\s+/));
      const ok = out.length === 2 && out.every((r) => r[2] === 'nftables' && r[5] === 'True' && r[3] === out[0]![3]);
      return ok && out[1]![4] === '1' ? out : undefined;
    }, 30_000, 500);
    expect(rows.map((r) => [r[0], r[2], r[4], r[5]])).toEqual([['node-a', 'nftables', '0', 'True'], ['node-b', 'nftables', '1', 'True']]);
    const services = (await cluster.kubectl('get', 'servicenatplans', '-A', '--no-headers')).stdout.trim().split('\n').length;
    expect(Number(rows[0]![3])).toBe(services);
  });
});
