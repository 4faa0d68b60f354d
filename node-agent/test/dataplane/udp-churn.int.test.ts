import { describe, expect, it } from 'vitest';
import { startResolver, tally, udpProbe } from '@natplan/e2e/netns';
import type { Host, Resolver, ResolverSummary } from '@natplan/e2e/netns';
import { BACKENDS } from './backends.js';
import type { BackendCase } from './backends.js';
import { useDataplane } from './parity-harness.js';
import { endpoint, service } from './plans.js';
import type { PodKey } from './plans.js';

// A DNS-like UDP Service under a rolling update, with real packets: clients query without
// pause while the endpoints are replaced one at a time (a1 -> a2 -> b1), each step the way
// a Deployment rollout publishes it: the new endpoint added ready, the old one marked
// terminating (still serving), then removed, then its process killed. No query may go
// unanswered. Like a real stub resolver, a client resends a query after 300 ms without an
// answer, 3 attempts in all (glibc's defaults are 5 s and 2); the resends are counted and
// reported, not hidden. Two clients run at once in pod-b2 (a client-only pod on node-b):
// one with a fresh source port per query (glibc), one with a single long-lived socket (a
// caching forwarder), whose one UDP flow moves only because the agent deletes its
// conntrack entry when the endpoint goes.

const CLUSTER_IP = '10.96.0.53';
const CLIENT_POD = { v4: '10.244.2.20', v6: 'fd00:10:244:2::20' };

type State = 'ready' | 'terminating';

/** The Service `dns` (UDP 53 -> 5353) with endpoints in the given states, as the planner would mark them. */
function dns(endpoints: Partial<Record<PodKey, State>>) {
  return service('dns', CLUSTER_IP, [], (s) => {
    s.ports = [{ name: 'udp', protocol: 'UDP', port: 53 }];
    s.endpoints = Object.entries(endpoints).map(([pod, state]) => endpoint(pod as PodKey, (e) => {
      if (state === 'terminating') Object.assign(e, { ready: false, serving: true, terminating: true, forCluster: false, forLocal: false });
    }));
    s.endpointCount = s.endpoints.length;
  });
}

/** The rollout a1 -> a2 -> b1: each step's endpoints, and the pod killed after it. */
const ROLLOUT: { endpoints: Partial<Record<PodKey, State>>; kill?: PodKey }[] = [
  { endpoints: { a1: 'ready', a2: 'ready' } },
  { endpoints: { a1: 'terminating', a2: 'ready' } },
  { endpoints: { a2: 'ready' }, kill: 'a1' },
  { endpoints: { a2: 'ready', b1: 'ready' } },
  { endpoints: { a2: 'terminating', b1: 'ready' } },
  { endpoints: { b1: 'ready' }, kill: 'a2' },
];

describe.each(BACKENDS)('UDP Service under endpoint churn: $name', (backend: BackendCase) => {
  let clientPod: Host;
  const dp = useDataplane(backend, async (cluster) => {
    clientPod = await cluster.topology.addPod(cluster.nodeB, 'pod-b2', {
      addresses: [CLIENT_POD.v4, CLIENT_POD.v6], gateways: ['10.244.2.1', 'fd00:10:244:2::1'],
    });
  });

  it('answers every query while the endpoints are replaced one by one', async () => {
    await dp.apply([dns({ a1: 'ready' })]);
    const clients: Record<string, Resolver> = {
      freshPorts: await startResolver(clientPod, CLUSTER_IP, 53),
      oneSocket: await startResolver(clientPod, CLUSTER_IP, 53, { sourcePort: 40153 }),
    };
    const settle = () => Promise.all(Object.values(clients).map((c) => c.waitForMoreAnswers(25)));
    const summaries: Record<string, ResolverSummary> = {};
    try {
      await settle();
      for (const step of ROLLOUT) {
        await dp.apply([dns(step.endpoints)]);
        await settle();
        if (step.kill) {
          dp.cluster.servers.get(`pod-${step.kill}`)?.kill();
          await settle();
        }
      }
    } finally {
      for (const [name, client] of Object.entries(clients)) summaries[name] = await client.stop();
    }
    for (const [name, summary] of Object.entries(summaries)) {
      expect(summary.unanswered, `${name}: ${JSON.stringify(summary)}`).toBe(0);
      expect(summary.answered, name).toBe(summary.queries);
      expect(summary.queries, name).toBeGreaterThan(ROLLOUT.length * 25);
    }
    // The new endpoints did take over: fresh flows reached every pod of the rollout, and
    // both clients end on the last one.
    expect(Object.keys(summaries.freshPorts?.byServer ?? {}).sort()).toEqual(['pod-a1', 'pod-a2', 'pod-b1']);
    for (const client of Object.values(clients)) {
      expect(new Set(client.answers().slice(-20).map((a) => a.server))).toEqual(new Set(['pod-b1']));
    }
    expect(tally(await udpProbe(clientPod, CLUSTER_IP, 53, { count: 3 }))).toEqual({ 'pod-b1': 3 });
    console.info(`udp churn (${backend.name}): ${JSON.stringify(summaries)}`);
  });
});
