/**
 * trafficDistribution PreferSameNode end to end: the real EndpointSlice controller writes
 * the node hints (hints.forNodes), the operator carries them into the plan (forNodes),
 * and each node's agent keeps only its own endpoint, although both nodes share a zone.
 * Asserted on the plan and with real traffic from a pod on each node. Addresses:
 * e2e/cluster/addresses.ts.
 */
import type { V1Service } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ServiceNatPlanEndpoint } from '@natplan/api';
import { addresses as A, Cluster, type Pod } from '../cluster/index.js';
import { waitFor } from '../control-plane/index.js';
import { tally, tcpProbe } from '../netns/index.js';

const NS = 'near';
let cluster: Cluster;
const web: Pod[] = [];
const probes: Pod[] = [];

beforeAll(async () => {
  cluster = await Cluster.start({ nodes: 2 });
  // Both nodes in one zone, so zone hints alone would give every node both endpoints:
  // only the node hints can keep each node on its own.
  await cluster.core.patchNode({ name: A.nodeName(1), body: [{ op: 'replace', path: '/metadata/labels/topology.kubernetes.io~1zone', value: 'zone-a' }] } as never);
  await cluster.createNamespace(NS);
  for (const node of [0, 1]) {
    web.push(await cluster.pods.start(NS, `web-${node}`, node, { app: 'web' }));
    probes.push(await cluster.pods.start(NS, `probe-${node}`, node, { app: 'probe' }));
  }
}, 180_000);

afterAll(async () => { await cluster?.stop(); });

describe('trafficDistribution PreferSameNode', () => {
  let svc: V1Service;
  beforeAll(async () => {
    svc = await cluster.core.createNamespacedService({
      namespace: NS,
      body: { metadata: { name: 'web' }, spec: { selector: { app: 'web' }, trafficDistribution: 'PreferSameNode', ports: [{ name: 'http', port: 80, targetPort: 'http' as never }] } },
    });
  });

  it('the plan carries the EndpointSlice controller\'s node hints', async () => {
    const endpoints = await waitFor('node hints in the plan', async () => {
      const plans = JSON.parse((await cluster.kubectl('get', 'servicenatplans', '-n', NS, '-o', 'json')).stdout) as { items: { spec: { endpoints?: ServiceNatPlanEndpoint[] } }[] };
      const all = plans.items.flatMap((p) => p.spec.endpoints ?? []);
      return all.length === 2 && all.every((e) => e.forNodes) ? all : undefined;
    }, 30_000, 200);
    const hints = Object.fromEntries(endpoints.map((e) => [e.address, e.forNodes]));
    expect(hints).toEqual({ [web[0]!.address]: [A.nodeName(0)], [web[1]!.address]: [A.nodeName(1)] });
  });

  it.each([0, 1])('a pod on node %i reaches only the endpoint on its own node', async (node) => {
    // The hints are in the plan (previous test); wait until this node's agent enforces them.
    const own = `web-${node}`;
    const seen = await waitFor(`only ${own} from node ${node}`, async () => {
      const s = tally(await tcpProbe(probes[node]!.host, svc.spec!.clusterIP!, 80, { count: 20, timeoutMs: 1000 }));
      return Object.keys(s).join() === own ? s : undefined;
    }, 30_000, 250);
    expect(seen).toEqual({ [own]: 20 });
  });

  it('without the distribution both nodes use both endpoints again', async () => {
    await cluster.core.patchNamespacedService({ name: 'web', namespace: NS, body: [{ op: 'remove', path: '/spec/trafficDistribution' }] } as never);
    for (const node of [0, 1]) {
      const seen = await waitFor(`both endpoints from node ${node}`, async () => {
        const s = tally(await tcpProbe(probes[node]!.host, svc.spec!.clusterIP!, 80, { count: 20, timeoutMs: 1000 }));
        return s['web-0'] && s['web-1'] ? s : undefined;
      }, 30_000, 250);
      expect(Object.keys(seen).sort()).toEqual(['web-0', 'web-1']);
    }
  });
});
