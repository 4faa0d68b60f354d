/**
 * Issue 8, finding 4: a Service with 20,000 endpoints, planned into 200 ServiceNatPlan
 * parts of 100 endpoints, must be enforced, and quickly. Real API server, the agent
 * programming a network namespace the test creates. The Service is a UDP one, so every
 * endpoint that goes away leaves conntrack entries to delete: a rollout that replaces all
 * 20,000 endpoints used to run 20,000 `conntrack -D` processes (~40 ms each here) inside
 * the sync, which therefore never finished in minutes and never reported anything.
 * Addresses (fixed for the project): node 172.18.0.2, pods 10.244.0.0/16, cluster IPs
 * 10.96.0.0/16 — all only inside the test's namespace.
 */
import { performance } from 'node:perf_hooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ServiceNatPlan, ServiceNatPlanEndpoint } from '@natplan/api';
import { waitFor } from '@natplan/e2e/control-plane';
import type { Host } from '@natplan/e2e/netns';
import type { testApi } from '@natplan/e2e/control-plane';
import type { RunningAgent } from '../src/shell/agent.js';
import { startAgentHarness, type AgentHarness } from './harness.js';

const PARTS = 200;
const PER_PART = 100;
const ENDPOINTS = PARTS * PER_PART;
/** Generous for 2 busy cores; the finding was "not enforced in 8 minutes". */
const BOUND_MS = 60_000;

let h: AgentHarness;
let api: ReturnType<typeof testApi>;
let node: Host;
let agent: RunningAgent | undefined;

/** Endpoint n of a version: other nodes' pods, 10.244.2.0 and up (250 per /24). */
function endpoint(n: number): ServiceNatPlanEndpoint {
  return {
    address: `10.244.${2 + Math.floor(n / 250)}.${(n % 250) + 2}`, nodeName: `node-${(n % 40) + 2}`,
    ready: true, serving: true, terminating: false, ports: [{ name: 'dns', port: 5353 }], forCluster: true, forLocal: true,
  };
}

function part(index: number, endpoints: ServiceNatPlanEndpoint[]): ServiceNatPlan {
  return {
    apiVersion: 'natplan.io/v1alpha1', kind: 'ServiceNatPlan', metadata: { name: `big-${index}`, namespace: 'default' },
    spec: {
      service: { name: 'big' }, part: index,
      ...(index === 0 ? {
        ipFamilies: ['IPv4' as const], clusterIPs: ['10.96.0.53'], ports: [{ name: 'dns', protocol: 'UDP' as const, port: 53, nodePort: 30053 }],
        sessionAffinity: { type: 'None' as const }, externalTrafficPolicy: 'Cluster' as const, internalTrafficPolicy: 'Cluster' as const,
      } : {}),
      endpointCount: endpoints.length, endpoints,
    },
  };
}

/** A one-endpoint Service created after the rollout. */
const smallService: ServiceNatPlan = {
  apiVersion: 'natplan.io/v1alpha1', kind: 'ServiceNatPlan', metadata: { name: 'small', namespace: 'default' },
  spec: {
    service: { name: 'small' }, part: 0, ipFamilies: ['IPv4'], clusterIPs: ['10.96.0.54'], ports: [{ name: 'http', protocol: 'TCP', port: 80 }],
    sessionAffinity: { type: 'None' }, externalTrafficPolicy: 'Cluster', internalTrafficPolicy: 'Cluster',
    endpointCount: 1, endpoints: [{ ...endpoint(3 * ENDPOINTS + 500), ports: [{ name: 'http', port: 8080 }] }],
  },
};

const nodeStatus = () => h.nodeStatus();

/** Elements of the UDP slot map for the cluster IP, read from the kernel. */
async function slotsInKernel(): Promise<number> {
  const { stdout } = await node.run(['nft', 'list', 'map', 'ip', 'natplan', 'frontend-slots-udp']);
  return stdout.match(/10\.96\.0\.53 \. 53 \. \d+ :/g)?.length ?? 0;
}

beforeAll(async () => {
  h = await startAgentHarness({ nodePlan: { backend: 'nftables' } });
  ({ api, node } = h);
  // The version before: 100 endpoints in one part.
  await api.create(part(0, Array.from({ length: 100 }, (_, k) => endpoint(3 * ENDPOINTS + k))));
  agent = await h.runAgent(['--status-period=2s']);
  await waitFor('the first version enforced', async () => ((await slotsInKernel()) === 100 ? true : undefined), 30_000, 200);
}, 180_000);

afterAll(async () => {
  await agent?.stop();
  await h?.stop();
});

/** Writes version `shift` (endpoints shift .. shift+19,999) as 200 parts; resolves with the ms it took. */
async function writeVersion(shift: number): Promise<number> {
  const started = performance.now();
  for (let index = 0; index < PARTS; index += 1) {
    const endpoints = Array.from({ length: PER_PART }, (_, k) => endpoint(shift + index * PER_PART + k));
    await api.apply(part(index, endpoints));
  }
  return performance.now() - started;
}

/** Waits for the kernel and then the status to hold all 20,000 endpoints of `first` onwards (`total` in all Services). */
async function enforcedAndReported(first: number, total = ENDPOINTS): Promise<{ kernelMs: number; statusMs: number }> {
  const started = performance.now();
  await waitFor('20,000 slots of this version in the kernel', async () => {
    const { stdout } = await node.run(['nft', 'list', 'map', 'ip', 'natplan', 'frontend-slots-udp']);
    const slots = stdout.match(/10\.96\.0\.53 \. 53 \. \d+ : [\d.]+ \. 5353/g) ?? [];
    return slots.length === ENDPOINTS && stdout.includes(`: ${endpoint(first).address} . 5353`) ? true : undefined;
  }, BOUND_MS, 500);
  const kernelMs = performance.now() - started;
  const status = await waitFor(`status reports ${total} endpoints`, async () => {
    const s = (await nodeStatus())?.status;
    return s?.endpoints === total && s.conditions?.some((c: { type: string; status: string }) => c.type === 'Ready' && c.status === 'True') ? s : undefined;
  }, BOUND_MS, 500);
  expect(status.conditions.find((c: { type: string }) => c.type === 'Degraded')?.status).toBe('False');
  return { kernelMs, statusMs: performance.now() - started };
}

/** A UDP flow from a client to the Service, NATed to `endpoint(n)`, as conntrack would hold it. */
async function conntrackEntryFor(n: number, clientPort: number): Promise<void> {
  await node.run(['conntrack', '-I', '-p', 'udp', '-s', '10.244.1.9', '-d', '10.96.0.53', '--sport', String(clientPort), '--dport', '53',
    '-r', endpoint(n).address, '-q', '10.244.1.9', '--reply-port-src', '5353', '--reply-port-dst', String(clientPort), '-t', '300']);
}

async function conntrackEntries(): Promise<string> {
  return (await node.run(['conntrack', '-L', '-p', 'udp'])).stdout;
}

describe('a UDP Service with 20,000 endpoints in 200 parts', () => {
  it('is enforced in the kernel and reported in status, and so is a rollout that replaces every endpoint', async () => {
    const firstWrite = await writeVersion(0);
    const first = await enforcedAndReported(0);
    // Flows to three endpoints of this version, which the rollout removes.
    for (const [k, n] of [0, 9_999, 19_999].entries()) await conntrackEntryFor(n, 40_000 + k);
    expect((await conntrackEntries()).match(/dport=53 /g)).toHaveLength(3);

    const rolloutWrite = await writeVersion(ENDPOINTS);
    // A change right after the rollout must not wait behind its conntrack cleanup (it did:
    // the sync deleted 20,000 endpoints' entries one process at a time, for minutes).
    await api.create(smallService);
    const afterStarted = performance.now();
    await waitFor('the next Service in the kernel and in status', async () => {
      const { stdout } = await node.run(['nft', 'list', 'map', 'ip', 'natplan', 'service-ips']);
      return stdout.includes('10.96.0.54 . tcp . 80') && (await nodeStatus())?.status?.services === 2 ? true : undefined;
    }, BOUND_MS, 500);
    const afterMs = performance.now() - afterStarted;
    const rollout = await enforcedAndReported(ENDPOINTS, ENDPOINTS + 1);
    // 20,000 stale endpoints: their entries are gone too (conntrack -R, 1,000 per process).
    await waitFor('stale UDP flows deleted', async () => ((await conntrackEntries()).includes('dport=53 ') ? undefined : true), BOUND_MS, 500);
    // The figures for the report (stdout of the test run).
    console.log(`20,000-endpoint Service: 200 parts written in ${Math.round(firstWrite)} ms; then in the kernel after ${Math.round(first.kernelMs)} ms, in status after ${Math.round(first.statusMs)} ms`);
    console.log(`rollout of all 20,000 endpoints: written in ${Math.round(rolloutWrite)} ms; a Service created after it in the kernel and status after ${Math.round(afterMs)} ms; the rollout checked in the kernel after a further ${Math.round(rollout.kernelMs)} ms, in status ${Math.round(rollout.statusMs)} ms`);
  }, 6 * BOUND_MS);
});
