/**
 * What load balancers ask the node, asked the way they do: plain HTTP from another host
 * to the node's address. The agent runs here and programs the node namespace (--netns);
 * /healthz, /livez and the health-check node ports must still answer in the node's
 * network. Addresses (fixed for the project): node LAN 172.18.0.0/24, pods 10.244.1.0/24,
 * cluster IPs 10.96.0.0/16, load-balancer IPs 192.0.2.0/24 — only inside test namespaces.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ServiceNatPlan, ServiceNatPlanEndpoint } from '@natplan/api';
import { waitFor } from '@natplan/e2e/control-plane';
import type { Host } from '@natplan/e2e/netns';
import type { testApi } from '@natplan/e2e/control-plane';
import type { RunningAgent } from '../src/shell/agent.js';
import { NODE_ADDRESS as NODE, startAgentHarness, type AgentHarness } from './harness.js';

const HEALTH_CHECK_PORT = 32100;
/** The enforcement bound; kube-proxy's rule makes a change pending for twice that unhealthy. */
const ENFORCEMENT_TIMEOUT = '2s';

let h: AgentHarness;
let api: ReturnType<typeof testApi>;
let client: Host;
let agent: RunningAgent | undefined;
/** While set, `nft -f` waits for it: a stalled kernel or applier, at our own exec boundary. */
let stall: { promise: Promise<void>; release: () => void } | undefined;

const endpoint = (address: string, nodeName = 'node-a'): ServiceNatPlanEndpoint => ({
  address, nodeName, ready: true, serving: true, terminating: false, ports: [{ name: 'http', port: 8080 }], forCluster: true, forLocal: true,
});

function localLoadBalancer(endpoints: ServiceNatPlanEndpoint[]): ServiceNatPlan {
  return {
    apiVersion: 'natplan.io/v1alpha1', kind: 'ServiceNatPlan', metadata: { name: 'web', namespace: 'default' },
    spec: {
      service: { name: 'web' }, part: 0, ipFamilies: ['IPv4'], clusterIPs: ['10.96.0.10'], loadBalancerIPs: ['192.0.2.50'],
      ports: [{ name: 'http', protocol: 'TCP', port: 80, nodePort: 30080 }],
      sessionAffinity: { type: 'None' }, externalTrafficPolicy: 'Local', internalTrafficPolicy: 'Cluster', healthCheckNodePort: HEALTH_CHECK_PORT,
      endpointCount: endpoints.length, endpoints, triggerTime: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
    },
  };
}

/** GET from the client host's namespace: status and JSON body, or undefined when nothing answers. */
async function get(port: number, path = '/'): Promise<{ status: number; body: Record<string, unknown> } | undefined> {
  const script = `try { const r = await fetch(${JSON.stringify(`http://${NODE}:${port}${path}`)}, { signal: AbortSignal.timeout(2000) });
    console.log(JSON.stringify({ status: r.status, body: await r.json() })); } catch { console.log('null'); }`;
  const { stdout } = await client.run([process.execPath, '--input-type=module', '-e', script]);
  return JSON.parse(stdout) ?? undefined;
}

const status = async (port: number, path?: string) => (await get(port, path))?.status;

async function metric(name: string): Promise<number> {
  const text = await (await fetch(`${agent!.http.url}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${name} `));
  return Number(line?.split(' ')[1] ?? NaN);
}

beforeAll(async () => {
  h = await startAgentHarness({ client: true });
  ({ api } = h);
  client = h.client!;
  await api.create(localLoadBalancer([endpoint('10.244.1.5')]));
  agent = await h.runAgent(['--min-sync-period=100ms', `--enforcement-timeout=${ENFORCEMENT_TIMEOUT}`], (real) => ({
    target: real.target,
    run: async (argv, options) => {
      if (stall && argv.includes('-f')) await stall.promise;
      return real.run(argv, options);
    },
  }));
}, 180_000);

afterAll(async () => {
  stall?.release();
  await agent?.stop();
  await h?.stop();
});

describe('health answered in the node\'s network', () => {
  it('the health-check node port answers 200 with the local endpoint count, 503 without local endpoints', async () => {
    const ok = await waitFor('200 on the health-check node port', async () => {
      const r = await get(HEALTH_CHECK_PORT);
      return r?.status === 200 ? r : undefined;
    }, 30_000, 200);
    expect(ok.body).toEqual({ service: { namespace: 'default', name: 'web' }, localEndpoints: 1, serviceProxyHealthy: true });

    await api.apply(localLoadBalancer([endpoint('10.244.2.5', 'node-b')]));
    const none = await waitFor('503 once the only endpoint is on another node', async () => {
      const r = await get(HEALTH_CHECK_PORT);
      return r?.status === 503 ? r : undefined;
    }, 20_000, 200);
    expect(none.body).toEqual({ service: { namespace: 'default', name: 'web' }, localEndpoints: 0, serviceProxyHealthy: true });

    await api.apply(localLoadBalancer([endpoint('10.244.1.5'), endpoint('10.244.1.6')]));
    const two = await waitFor('200 with two local endpoints', async () => {
      const r = await get(HEALTH_CHECK_PORT);
      return r?.status === 200 ? r : undefined;
    }, 20_000, 200);
    expect(two.body.localEndpoints).toBe(2);
  });

  it('kube-proxy\'s metric names move with the syncs', async () => {
    expect(await metric('kubeproxy_sync_proxy_rules_endpoint_changes_total')).toBeGreaterThanOrEqual(2);
    await waitFor('nothing pending after the syncs', async () => (await metric('kubeproxy_sync_proxy_rules_endpoint_changes_pending')) === 0 || undefined, 10_000, 200);
    expect(await metric('kubeproxy_sync_proxy_rules_duration_seconds_count{ip_family="IPv4"}')).toBeGreaterThan(0);
    expect(await metric('kubeproxy_sync_proxy_rules_last_timestamp_seconds{ip_family="IPv4"}')).toBeGreaterThan(Date.now() / 1000 - 60);
  });

  it('/healthz and /livez answer 200 while syncs keep up, 503 once a change waits too long, 200 again after', async () => {
    const healthy = await get(10256, '/healthz');
    expect(healthy).toMatchObject({ status: 200, body: { nodeEligible: true, healthy: true } });
    expect(await status(10256, '/livez')).toBe(200);

    let release = () => {};
    stall = { promise: new Promise((resolve) => { release = resolve; }), release: () => release() };
    await api.apply(localLoadBalancer([endpoint('10.244.1.5')]));
    await waitFor('/healthz 503 while the sync stalls', async () => (await status(10256, '/healthz')) === 503 || undefined, 30_000, 250);
    expect(await status(10256, '/livez')).toBe(503);
    // A node whose proxy is stale must not attract Local traffic either, endpoints or not.
    expect(await get(HEALTH_CHECK_PORT)).toMatchObject({ status: 503, body: { serviceProxyHealthy: false } });
    expect(await metric('kubeproxy_sync_proxy_rules_endpoint_changes_pending')).toBe(1);

    stall.release();
    stall = undefined;
    await waitFor('/healthz 200 after the sync went through', async () => (await status(10256, '/healthz')) === 200 || undefined, 30_000, 250);
    expect(await status(10256, '/livez')).toBe(200);
    expect(await get(HEALTH_CHECK_PORT)).toMatchObject({ status: 200, body: { localEndpoints: 1, serviceProxyHealthy: true } });
  });

  it('stopping the agent closes the ports in the node\'s network', async () => {
    await agent?.stop();
    agent = undefined;
    expect(await get(10256, '/healthz')).toBeUndefined();
    expect(await get(HEALTH_CHECK_PORT)).toBeUndefined();
  });
});
