/**
 * Issue 8, finding 4: a Service with 20,000 endpoints, planned into 200 ServiceNatPlan
 * parts of 100 endpoints, must be enforced, and quickly. Real API server, the agent
 * programming a network namespace the test creates. The Service is a UDP one that already
 * had 100 endpoints, which the new version replaces (a rollout), so the sync also has
 * stale UDP conntrack entries to clear.
 * Addresses (fixed for the project): node 172.18.0.2, pods 10.244.0.0/16, cluster IPs
 * 10.96.0.0/16 — all only inside the test's namespace.
 */
import { performance } from 'node:perf_hooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jsonLogger } from '../../controller-kit/src/json-logger.js';
import type { NodeNatPlan, ServiceNatPlan, ServiceNatPlanEndpoint } from '../../crds/generated/types.js';
import { startControlPlane, waitFor, type ControlPlane } from '../../e2e/control-plane/index.js';
import { Topology, type Host } from '../../e2e/netns/index.js';
import { testApi } from '../../operator/test/api.js';
import { parseAgentConfig } from '../src/config.js';
import { startAgent, type RunningAgent } from '../src/shell/agent.js';

const PARTS = 200;
const PER_PART = 100;
const ENDPOINTS = PARTS * PER_PART;
/** Generous for 2 busy cores; the finding was "not enforced in 8 minutes". */
const BOUND_MS = 60_000;

let cp: ControlPlane;
let api: ReturnType<typeof testApi>;
let topo: Topology;
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

const nodePlan: NodeNatPlan = {
  apiVersion: 'natplan.io/v1alpha1', kind: 'NodeNatPlan', metadata: { name: 'node-a' },
  spec: { nodeName: 'node-a', nodePortAddresses: ['172.18.0.2'], podCIDRs: ['10.244.1.0/24'], clusterCIDRs: ['10.244.0.0/16'], masqueradeAll: false, backend: 'nftables' },
};

async function nodeStatus() {
  return (await api.plans('nodenatplans')).find((p) => p.metadata.name === 'node-a');
}

/** Elements of the UDP slot map for the cluster IP, read from the kernel. */
async function slotsInKernel(): Promise<number> {
  const { stdout } = await node.run(['nft', 'list', 'map', 'ip', 'natplan', 'frontend-slots-udp']);
  return stdout.match(/10\.96\.0\.53 \. 53 \. \d+ :/g)?.length ?? 0;
}

beforeAll(async () => {
  cp = await startControlPlane();
  api = testApi(cp.kubeConfig);
  topo = await Topology.create();
  const lan = await topo.addSwitch('lan');
  node = await topo.addHost('node-a', { router: true });
  await topo.attach(node, lan, ['172.18.0.2/24']);
  await api.create(nodePlan);
  // The version before: 100 endpoints in one part, which the rollout below replaces.
  await api.create(part(0, Array.from({ length: 100 }, (_, k) => endpoint(ENDPOINTS + k))));
  const parsed = parseAgentConfig(['--node-name=node-a', `--netns=${node.namespace}`, '--metrics-address=127.0.0.1:0', '--status-period=2s', '--log-level=warn'], {});
  if (!parsed.ok) throw new Error(parsed.errors.join('; '));
  agent = await startAgent({ kubeConfig: cp.kubeConfig, config: parsed.config, logger: jsonLogger({ component: 'agent', level: 'warn' }), exec: node.exec });
  await waitFor('the first version enforced', async () => ((await slotsInKernel()) === 100 ? true : undefined), 30_000, 200);
}, 180_000);

afterAll(async () => {
  await agent?.stop();
  await topo?.destroy();
  await cp?.stop();
});

describe('a Service with 20,000 endpoints in 200 parts', () => {
  it('is enforced in the kernel and reported in status within the bound', async () => {
    const started = performance.now();
    for (let index = 0; index < PARTS; index += 1) {
      const endpoints = Array.from({ length: PER_PART }, (_, k) => endpoint(index * PER_PART + k));
      const object = part(index, endpoints);
      await (index === 0 ? api.apply(object) : api.create(object));
    }
    const written = performance.now();
    await waitFor('20,000 slots in the kernel', async () => ((await slotsInKernel()) === ENDPOINTS ? true : undefined), BOUND_MS, 500);
    const enforced = performance.now();
    const status = await waitFor('status reports 20,000 endpoints', async () => {
      const s = (await nodeStatus())?.status;
      return s?.endpoints === ENDPOINTS ? s : undefined;
    }, BOUND_MS, 500);
    const reported = performance.now();
    expect(status.conditions.find((c: { type: string }) => c.type === 'Ready')?.status).toBe('True');
    // The figures for the report (stdout of the test run).
    console.log(`large Service: parts written in ${Math.round(written - started)} ms; in the kernel ${Math.round(enforced - started)} ms after the first write (${Math.round(enforced - written)} ms after the last); status ${Math.round(reported - started)} ms`);
    expect(enforced - written).toBeLessThan(BOUND_MS);
  }, 4 * BOUND_MS);
});
