/**
 * A node behind a real NAT gateway that natplan programs itself: Debian's miniupnpd
 * (PCP and NAT-PMP, secure mode, only the node subnet may map) runs in the gateway
 * namespace; the admin grants fromNode Gateway, a policy asks for it, and node-b's agent
 * asks the gateway for the port mapping. Driven only through the Kubernetes API (real API
 * server, operator, agents), asserted with real traffic from the internet side.
 *
 *   node-a 172.18.0.2 (web-1, web-2) ─┐
 *   node-b 172.18.0.3 (exposes) ──────┴ lan ─ gateway 172.18.0.254 | 11.18.0.1 ─ wan ─ internet client 11.18.0.50
 *                                                                                  └─ outsider 11.18.0.66
 * Addresses: e2e/cluster/addresses.ts (the WAN is not a documentation range because
 * miniupnpd refuses to map from one; it exists only inside these namespaces).
 */
import { KubernetesObjectApi, type KubernetesObject } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { NatExposurePolicy, NodeNatPlan } from '@natplan/api';
import { main as agentMain } from '@natplan/node-agent';
import { addresses as A, Cluster } from '../cluster/index.js';
import { waitFor } from '../control-plane/index.js';
import { tally, tcpProbe } from '../netns/index.js';

const NS = 'edge';
/** Short leases: renewals every few seconds, so renewal and a restart's recovery are seen quickly. */
const MAX_LIFETIME = 6;
const W = A.MAPPED_WAN;
let cluster: Cluster;
let objects: KubernetesObjectApi;

const policyBody = (name: string): KubernetesObject => ({
  apiVersion: 'natplan.io/v1alpha1', kind: 'NatExposurePolicy', metadata: { name, namespace: NS },
  spec: {
    service: { name: 'web' }, ports: [{ servicePort: 80, externalPort: 8080, protocol: 'TCP' }],
    nodes: { selector: { matchLabels: { 'natplan.io/behind-nat': 'true' } } },
    addresses: { fromNode: 'Gateway' },
    sourceRanges: [`${W.internetClient}/32`],
  },
} as KubernetesObject);

async function policy(name: string): Promise<NatExposurePolicy> {
  return JSON.parse((await cluster.kubectl('get', 'natexposurepolicy', name, '-n', NS, '-o', 'json')).stdout) as NatExposurePolicy;
}
const condition = (p: NatExposurePolicy, type: string) => p.status?.conditions?.find((c) => c.type === type);
async function nodePlan(node: string): Promise<NodeNatPlan> {
  return JSON.parse((await cluster.kubectl('get', 'nodenatplan', node, '-o', 'json')).stdout) as NodeNatPlan;
}
const served = async (address: string, count = 10) => tally(await tcpProbe(cluster.net.wan!.internetClient, address, 8080, { count, timeoutMs: 1000 }));
const byWeb = (seen: Record<string, number>) => Object.keys(seen).length > 0 && Object.keys(seen).every((k) => k.startsWith('web-'));
const unserved = (seen: Record<string, number>) => Object.keys(seen).every((k) => k.startsWith('error:'));
const redirects = () => cluster.miniupnpd!.redirects();

beforeAll(async () => {
  cluster = await Cluster.start({ nodes: 2, operators: 1, gateway: 'miniupnpd', gatewayMaxLifetimeSeconds: MAX_LIFETIME });
  objects = KubernetesObjectApi.makeApiClient(cluster.cp.kubeConfig);
  await cluster.createNamespace(NS);
  await cluster.pods.start(NS, 'web-1', 0, { app: 'web' });
  await cluster.pods.start(NS, 'web-2', 0, { app: 'web' });
  await cluster.core.createNamespacedService({ namespace: NS, body: { metadata: { name: 'web' }, spec: { selector: { app: 'web' }, ports: [{ name: 'http', port: 80, targetPort: 'http' as never }] } } });
  // The admin's grant: TCP 8080 to namespace edge, on node addresses only for now.
  await objects.create({
    apiVersion: 'natplan.io/v1alpha1', kind: 'NatExposureGrant', metadata: { name: 'edge' },
    spec: { namespaces: { names: [NS] }, addresses: { fromNode: ['InternalIP'] }, ports: [{ protocol: 'TCP', from: 8080 }] },
  } as KubernetesObject);
}, 180_000);

afterAll(async () => { await cluster?.stop(); });

describe('port mappings the agents ask of a real NAT gateway (miniupnpd)', () => {
  it('a policy without the grant\'s permission asks the gateway for nothing, and says why', async () => {
    await objects.create(policyBody('mapped-web'));
    const p = await waitFor('the policy refused', async () => {
      const got = await policy('mapped-web');
      return condition(got, 'Accepted')?.status === 'False' ? got : undefined;
    }, 30_000, 250);
    expect(condition(p, 'Accepted')).toMatchObject({ reason: 'GatewayMappingNotGranted' });
    expect(condition(p, 'GatewayMapped')).toMatchObject({ status: 'False', reason: 'NotRequested' });
    expect(condition(p, 'Ready')).toMatchObject({ status: 'False', reason: 'GatewayMappingNotGranted' });
    // An agent asks the gateway only for what its plan holds: once node-b's agent reports the
    // plan's current generation enforced (and the policy was decided, above), it had every
    // chance to ask.
    const plan = await waitFor('node-b\'s agent caught up with its plan', async () => {
      const got = await nodePlan(A.nodeName(1));
      return got.status?.observedGeneration === got.metadata?.generation ? got : undefined;
    }, 30_000, 250);
    expect(plan.spec.exposures ?? []).toEqual([]);
    expect(plan.status?.gatewayMappings).toBeUndefined();
    expect(await redirects()).toEqual([]);
    expect(unserved(await served(W.gateway, 2))).toBe(true);
  });

  it('with the permission, the internet is served through the mapped port, and the policy shows the discovered external address', async () => {
    await cluster.kubectl('patch', 'natexposuregrant', 'edge', '--type=merge', '-p', JSON.stringify({ spec: { addresses: { fromNode: ['InternalIP', 'Gateway'] } } }));
    const p = await waitFor('the policy Ready', async () => {
      const got = await policy('mapped-web');
      return condition(got, 'Ready')?.status === 'True' ? got : undefined;
    }, 30_000, 250);
    expect(p.status?.publicEndpoints).toEqual([{ node: 'node-b', service: 'web', address: W.gateway, port: 8080, protocol: 'TCP', readyEndpoints: 2 }]);
    expect(condition(p, 'GatewayMapped')).toMatchObject({ status: 'True', reason: 'Mapped' });
    expect((await nodePlan(A.nodeName(1))).status?.gatewayMappings).toEqual([
      { address: A.nodeAddress(1), port: 8080, protocol: 'TCP', state: 'Mapped', externalAddress: W.gateway, externalPort: 8080, via: 'PCP', gateway: A.GATEWAY_LAN },
    ]);
    expect(await redirects()).toEqual([expect.stringContaining(`dnat ip to ${A.nodeAddress(1)}:8080`)]);
    const seen = await waitFor('served through the gateway', async () => { const s = await served(W.gateway); return byWeb(s) && Object.keys(s).length === 2 ? s : undefined; }, 30_000, 250);
    expect(Object.values(seen).reduce((a, b) => a + b, 0)).toBe(10);
    // The node's rules still decide who may connect: the outsider reaches the node, not the Service.
    const outsider = await tcpProbe(cluster.net.wan!.outsider, W.gateway, 8080, { count: 2, timeoutMs: 500 });
    expect(outsider.every((r) => !r.ok)).toBe(true);
  });

  it('a short lease is renewed: past two lifetimes the mapping still serves', async () => {
    // Real lifetimes at the gateway have to pass: this wait is the subject, not a guess.
    await new Promise((resolve) => setTimeout(resolve, 2 * MAX_LIFETIME * 1000 + 1000));
    expect(await redirects()).toHaveLength(1);
    expect(byWeb(await served(W.gateway, 4))).toBe(true);
  });

  it('a gateway restart that lost every mapping: the mapping comes back', async () => {
    const daemon = cluster.miniupnpd!;
    await daemon.kill();
    await daemon.removeTable();
    await daemon.installTable();
    expect(await redirects()).toEqual([]);
    expect(unserved(await served(W.gateway, 2))).toBe(true);
    await daemon.start();
    await waitFor('the mapping back', async () => ((await redirects()).length === 1 ? true : undefined), MAX_LIFETIME * 1000 + 10_000, 250);
    await waitFor('served again', async () => (byWeb(await served(W.gateway, 4)) ? true : undefined), 10_000, 250);
  });

  it('an external address change is followed into the policy status', async () => {
    const gw = cluster.net.wan!.gateway;
    const dev = cluster.net.wan!.interfaces.wan;
    // A new lease from the provider. Removed first: removing an interface's primary address
    // also removes the secondaries of its subnet (promote_secondaries is off by default).
    await gw.ip('addr', 'del', `${W.gateway}/${W.prefix}`, 'dev', dev);
    await gw.ip('addr', 'add', `${A.MAPPED_WAN_MOVED}/${W.prefix}`, 'dev', dev);
    const p = await waitFor('the new address in status', async () => {
      const got = await policy('mapped-web');
      return got.status?.publicEndpoints?.[0]?.address === A.MAPPED_WAN_MOVED ? got : undefined;
    }, MAX_LIFETIME * 1000 + 15_000, 250);
    expect(condition(p, 'GatewayMapped')).toMatchObject({ status: 'True' });
    await waitFor('served at the new address', async () => (byWeb(await served(A.MAPPED_WAN_MOVED, 4)) ? true : undefined), 15_000, 250);
  });

  it('the policy deleted: the mapping is gone from the gateway and from the node\'s status', async () => {
    await cluster.kubectl('delete', 'natexposurepolicy', 'mapped-web', '-n', NS);
    await waitFor('no mapping at the gateway', async () => ((await redirects()).length === 0 ? true : undefined), 15_000, 250);
    await waitFor('no mapping in status', async () => ((await nodePlan(A.nodeName(1))).status?.gatewayMappings === undefined ? true : undefined), 15_000, 250);
    expect(unserved(await served(A.MAPPED_WAN_MOVED, 2))).toBe(true);
  });

  it('an agent restart keeps the mapping and goes on renewing it, without a gap', async () => {
    await objects.create(policyBody('mapped-again'));
    await waitFor('mapped again', async () => ((await redirects()).length === 1 ? true : undefined), 30_000, 250);
    await cluster.stopAgent(A.nodeName(1));
    expect(await redirects()).toHaveLength(1);
    await cluster.startAgent(A.nodeName(1));
    // Sampled for more than a whole lifetime: only the new agent's renewals keep it.
    const seen = new Set<string>();
    for (const until = Date.now() + MAX_LIFETIME * 1000 + 1000; Date.now() < until;) {
      seen.add(`redirects=${(await redirects()).length}`);
      for (const m of (await nodePlan(A.nodeName(1))).status?.gatewayMappings ?? []) seen.add(`${m.state}${m.reason ? ` ${m.reason}` : ''}`);
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    expect([...seen].sort()).toEqual(['Mapped', 'redirects=1']);
    expect(byWeb(await served(A.MAPPED_WAN_MOVED, 4))).toBe(true);
  });

  it('natplan cleanup, with the agent gone, deletes the mappings the agent held', async () => {
    await cluster.stopAgent(A.nodeName(1));
    expect(await redirects()).toHaveLength(1); // an agent stop keeps them, as it keeps its rules
    await agentMain(['--cleanup', ...cluster.agentFlags(A.nodeName(1))]);
    expect(await redirects()).toEqual([]);
    expect(await cluster.rulesOn(A.nodeName(1))).not.toContain('natplan');
  });
});
