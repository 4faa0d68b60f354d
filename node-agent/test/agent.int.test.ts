/**
 * The node agent on real parts: plans on a real API server, rules in a network namespace
 * the test creates (the agent runs here and programs that namespace, --netns), real TCP
 * from a client. Addresses (fixed for the project): node LAN 172.18.0.0/24, pods
 * 10.244.1.0/24, cluster IPs 10.96.0.0/16 — all only inside the test's namespaces.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { CustomObjectsApi } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { NodeNatPlan, ServiceNatPlan, ServiceNatPlanEndpoint } from '@natplan/api';
import { waitFor, type ControlPlane } from '@natplan/e2e/control-plane';
import { startEcho, tally, tcpProbe, type Host, type Topology } from '@natplan/e2e/netns';
import type { testApi } from '@natplan/e2e/control-plane';
import type { RunningAgent } from '../src/shell/agent.js';
import { nodePlanFor, startAgentHarness, type AgentHarness } from './harness.js';

let h: AgentHarness;
let cp: ControlPlane;
let api: ReturnType<typeof testApi>;
let topo: Topology;
let node: Host;
let client: Host;
let agent: RunningAgent | undefined;
/** Fault switch at our own exec boundary: while set, `nft -f` fails as a kernel refusal would. */
let failApplies = false;
/** While set, `nft -f` (a commit) waits for this promise: an applier that hangs. */
let hangApplies: Promise<void> | undefined;

const endpoint = (address: string): ServiceNatPlanEndpoint => ({
  address, nodeName: 'node-a', ready: true, serving: true, terminating: false, ports: [{ name: 'http', port: 8080 }], forCluster: true, forLocal: true,
});

function servicePlan(endpoints: ServiceNatPlanEndpoint[]): ServiceNatPlan {
  return {
    apiVersion: 'natplan.io/v1alpha1', kind: 'ServiceNatPlan', metadata: { name: 'web', namespace: 'default' },
    spec: {
      service: { name: 'web' }, part: 0, ipFamilies: ['IPv4'], clusterIPs: ['10.96.0.10'],
      ports: [{ name: 'http', protocol: 'TCP', port: 80, nodePort: 30080 }],
      sessionAffinity: { type: 'None' }, externalTrafficPolicy: 'Cluster', internalTrafficPolicy: 'Cluster',
      endpointCount: endpoints.length, endpoints, triggerTime: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
    },
  };
}

const nodePlan = nodePlanFor();
const nodeStatus = () => h.nodeStatus();

// The kernel check runs only before syncs (no idle checks) unless a test asks, so each
// test decides when a sync happens.
async function runAgent(flags: string[] = ['--kernel-check-period=1h']): Promise<RunningAgent> {
  const commits = (argv: readonly string[]) => argv.includes('nft') && argv.includes('-f') && !argv.includes('--check');
  return h.runAgent(['--min-sync-period=100ms', ...flags], (real) => ({
    target: real.target,
    run: async (argv, options) => {
      if (hangApplies && commits(argv)) await hangApplies;
      return failApplies && commits(argv) ? real.run(['nft', '-f', '-'], { stdin: 'this is not nft syntax\n' }) : real.run(argv, options);
    },
  }));
}

beforeAll(async () => {
  h = await startAgentHarness({ client: true });
  ({ cp, api, topo, node } = h);
  client = h.client!;
  for (const [name, address] of [['web-1', '10.244.1.5'], ['web-2', '10.244.1.6']] as const) {
    const pod = await topo.addPod(node, name, { addresses: [address], gateways: ['10.244.1.1'] });
    await startEcho(pod, { tcp: [8080] });
  }
  await api.create(servicePlan([endpoint('10.244.1.5')]));
  agent = await runAgent();
}, 180_000);

afterAll(async () => {
  await agent?.stop();
  await h?.stop();
});

describe('node agent', () => {
  it('enforces the plans and reports Ready with counts in its NodeNatPlan', async () => {
    const plan = await waitFor('Ready status', async () => {
      const p = await nodeStatus();
      return p?.status?.conditions?.some((c: { type: string; status: string }) => c.type === 'Ready' && c.status === 'True') ? p : undefined;
    }, 30_000);
    expect(plan.status).toMatchObject({ backend: 'nftables', observedGeneration: plan.metadata.generation, services: 1 });
    expect(plan.status.rulesetDigest).toMatch(/\S/);
    expect(tally(await tcpProbe(client, '172.18.0.2', 30080, { count: 5 }))).toEqual({ 'web-1': 5 });
  });

  it('an endpoint added to the plan receives traffic, without a status write', async () => {
    const writesBefore = await statusWrites();
    await api.apply(servicePlan([endpoint('10.244.1.5'), endpoint('10.244.1.6')]));
    await waitFor('both endpoints answer', async () => {
      const seen = tally(await tcpProbe(client, '172.18.0.2', 30080, { count: 20 }));
      return seen['web-1'] && seen['web-2'] ? seen : undefined;
    }, 20_000, 300);
    // Counts changed but no condition did: the status waits for the status period (1 min).
    expect(await statusWrites()).toBe(writesBefore);
  });

  it('a status-only write to its NodeNatPlan requests no sync; a spec change requests exactly one', async () => {
    const syncs = 'natplan_sync_proxy_rules_duration_seconds_count';
    // Start from an idle agent whose last sync is older than the minimum sync period, so a
    // sync the status write asked for would run on its own, not merge with the next one.
    expect(await agent!.syncNow()).toBe(true);
    await waitFor('min sync period passed', async () => (Date.now() / 1000 - await metric('natplan_sync_proxy_rules_last_queued_timestamp_seconds') > 0.3 ? true : undefined), 5_000, 100);
    const before = await metric(syncs);
    // A status write as the agent's own are: new resourceVersion, same generation and spec.
    const objects = cp.kubeConfig.makeApiClient(CustomObjectsApi);
    const current = await objects.getClusterCustomObject({ group: 'natplan.io', version: 'v1alpha1', plural: 'nodenatplans', name: 'node-a' }) as NodeNatPlan;
    await objects.replaceClusterCustomObjectStatus({ group: 'natplan.io', version: 'v1alpha1', plural: 'nodenatplans', name: 'node-a', body: { ...current, status: { ...current.status, services: 999 } } });
    // Then a real change on the same watch (so it arrives after the status event).
    const changed = await api.apply({ ...nodePlan, spec: { ...nodePlan.spec, zone: 'zone-status-test' } }) as NodeNatPlan;
    await waitFor('the spec change enforced and reported', async () => ((await nodeStatus())?.status?.observedGeneration === changed.metadata?.generation ? true : undefined), 20_000, 100);
    expect(await metric(syncs)).toBe(before + 1);
  });

  it('a failed apply keeps the last rules, reports Degraded with the tool\'s error, and heals', async () => {
    failApplies = true;
    await api.apply(servicePlan([endpoint('10.244.1.6')]));
    const degraded = await waitFor('Degraded status', async () => {
      const p = await nodeStatus();
      return p?.status?.conditions?.find((c: { type: string; status: string }) => c.type === 'Degraded' && c.status === 'True');
    }, 20_000);
    expect(degraded.reason).toBe('ApplyFailed');
    expect(degraded.message).toMatch(/syntax error|Error/);
    // The previous rules (both endpoints) are still in place.
    const during = tally(await tcpProbe(client, '172.18.0.2', 30080, { count: 20 }));
    expect(Object.keys(during).sort()).toEqual(['web-1', 'web-2']);
    failApplies = false;
    await waitFor('Ready again', async () => {
      const p = await nodeStatus();
      return p?.status?.conditions?.some((c: { type: string; status: string }) => c.type === 'Degraded' && c.status === 'False') ? true : undefined;
    }, 60_000, 250);
    expect(tally(await tcpProbe(client, '172.18.0.2', 30080, { count: 10 }))).toEqual({ 'web-2': 10 });
  });

  it('a restart leaves the rules in place while no agent runs', async () => {
    await agent?.stop();
    agent = undefined;
    expect(tally(await tcpProbe(client, '172.18.0.2', 30080, { count: 5 }))).toEqual({ 'web-2': 5 });
    agent = await runAgent();
    expect(await agent.syncNow()).toBe(true);
    expect(tally(await tcpProbe(client, '172.18.0.2', 30080, { count: 5 }))).toEqual({ 'web-2': 5 });
  });

  it.each([
    ['a flushed table', ['nft', 'flush', 'table', 'ip', 'natplan'], /chain ip natplan \S+ holds 0 rules|No such file or directory/],
    ['a deleted table', ['nft', 'delete', 'table', 'ip', 'natplan'], /No such file or directory.* delete element ip natplan commit-marker/],
    ['a flushed chain', ['nft', 'flush', 'chain', 'ip', 'natplan', 'services'], /delete rule ip natplan services handle \d+/],
    ['a flushed verdict map', ['nft', 'flush', 'map', 'ip', 'natplan', 'service-nodeports'], /delete element ip natplan service-nodeports/],
  ])('%s: the next sync sees it, reports Degraded and repairs it', async (_name, damage, missing) => {
    expect(tally(await tcpProbe(client, '172.18.0.2', 30080, { count: 3 }))).toEqual({ 'web-2': 3 });
    const repairsBefore = await metric('natplan_kernel_drift_repairs_total{backend="nftables"}');
    await node.run(damage);
    expect((await tcpProbe(client, '172.18.0.2', 30080, { count: 1, timeoutMs: 500 }))[0]?.ok).toBe(false);
    expect(await agent!.syncNow()).toBe(true);
    const degraded = await waitFor('Degraded: drift repaired', async () => {
      const p = await nodeStatus();
      return p?.status?.conditions?.find((c: { type: string; status: string; reason: string }) => c.type === 'Degraded' && c.reason === 'KernelDriftRepaired');
    }, 30_000, 100);
    expect(degraded.status).toBe('True');
    expect(degraded.message).toMatch(missing);
    expect(tally(await tcpProbe(client, '172.18.0.2', 30080, { count: 5 }))).toEqual({ 'web-2': 5 });
    expect(await metric('natplan_kernel_drift_repairs_total{backend="nftables"}')).toBe(repairsBefore + 1);
    // The next sync with nothing wrong clears it.
    expect(await agent!.syncNow()).toBe(true);
    await waitFor('Degraded cleared', async () => ((await nodeStatus())?.status?.conditions?.some((c: { type: string; status: string }) => c.type === 'Degraded' && c.status === 'False') ? true : undefined), 30_000, 100);
  });

  it('a deleted static rule is seen and repaired by an idle agent', async () => {
    await agent?.stop();
    agent = await runAgent(['--kernel-check-period=500ms']);
    expect(await agent.syncNow()).toBe(true);
    const { stdout } = await node.run(['nft', '-a', 'list', 'chain', 'ip', 'natplan', 'nat-prerouting']);
    const handle = /jump services # handle (\d+)/.exec(stdout)?.[1];
    expect(handle).toBeDefined();
    // Someone deletes our jump from prerouting: node ports stop working for outside clients.
    await node.run(['nft', 'delete', 'rule', 'ip', 'natplan', 'nat-prerouting', 'handle', handle!]);
    // Nothing asks for a sync here: only the agent's own kernel check (every 500 ms) can find
    // and repair it. The timeouts only end a hung test.
    await waitFor('node port answers again', async () => {
      const [probe] = await tcpProbe(client, '172.18.0.2', 30080, { count: 1, timeoutMs: 300 });
      return probe?.ok ? true : undefined;
    }, 30_000, 100);
    await waitFor('the repair counted', async () => ((await metric('natplan_kernel_drift_repairs_total{backend="nftables"}')) >= 1 ? true : undefined), 30_000, 100);
    await agent.stop();
    agent = await runAgent();
  });

  it('the watchdog reports Degraded when a change is not enforced within the bound, and clears once it is', async () => {
    await agent?.stop();
    agent = await runAgent(['--kernel-check-period=1h', '--enforcement-timeout=2s']);
    expect(await agent.syncNow()).toBe(true);
    let release!: () => void;
    hangApplies = new Promise((resolve) => { release = resolve; });
    await api.apply(servicePlan([endpoint('10.244.1.5'), endpoint('10.244.1.6')]));
    const stalled = await waitFor('Degraded: enforcement stalled', async () => {
      const p = await nodeStatus();
      return p?.status?.conditions?.find((c: { type: string; status: string; reason: string }) => c.type === 'Degraded' && c.status === 'True' && c.reason === 'EnforcementStalled');
    }, 15_000, 200);
    expect(stalled.message).toMatch(/waited \d+ s to be enforced \(bound 2 s\); a sync has been running for \d+ s/);
    expect(await metric('natplan_enforcement_stalled')).toBe(1);
    release();
    hangApplies = undefined;
    await waitFor('Degraded cleared', async () => ((await nodeStatus())?.status?.conditions?.some((c: { type: string; status: string }) => c.type === 'Degraded' && c.status === 'False') ? true : undefined), 15_000, 200);
    expect(await metric('natplan_enforcement_stalled')).toBe(0);
    await waitFor('both endpoints answer', async () => {
      const seen = tally(await tcpProbe(client, '172.18.0.2', 30080, { count: 20 }));
      return seen['web-1'] && seen['web-2'] ? seen : undefined;
    }, 10_000, 200);
    await api.apply(servicePlan([endpoint('10.244.1.6')]));
    await waitFor('only web-2', async () => {
      const seen = tally(await tcpProbe(client, '172.18.0.2', 30080, { count: 10 }));
      return Object.keys(seen).join() === 'web-2' ? seen : undefined;
    }, 10_000, 200);
  });

  it('iptables: a flushed chain is seen by the next sync, reported and repaired', async () => {
    await api.apply({ ...nodePlan, spec: { ...nodePlan.spec, backend: 'iptables' } });
    await waitFor('iptables backend', async () => (agent!.backend() === 'iptables' && (await nodeStatus())?.status?.backend === 'iptables' ? true : undefined), 20_000, 200);
    expect(tally(await tcpProbe(client, '172.18.0.2', 30080, { count: 3 }))).toEqual({ 'web-2': 3 });
    await node.run(['iptables', '-t', 'nat', '-F', 'NATPLAN-NODEPORTS']);
    expect((await tcpProbe(client, '172.18.0.2', 30080, { count: 1, timeoutMs: 500 }))[0]?.ok).toBe(false);
    expect(await agent!.syncNow()).toBe(true);
    const degraded = await waitFor('Degraded: drift repaired', async () => {
      const p = await nodeStatus();
      return p?.status?.conditions?.find((c: { type: string; status: string; reason: string }) => c.type === 'Degraded' && c.reason === 'KernelDriftRepaired');
    }, 30_000, 100);
    expect(degraded.message).toMatch(/IPv4 rule missing: NATPLAN-NODEPORTS /);
    expect(tally(await tcpProbe(client, '172.18.0.2', 30080, { count: 5 }))).toEqual({ 'web-2': 5 });
    expect(await metric('natplan_kernel_drift_repairs_total{backend="iptables"}')).toBe(1);
    await api.apply(nodePlan);
    await waitFor('nftables backend again', async () => (agent!.backend() === 'nftables' && (await nodeStatus())?.status?.backend === 'nftables' ? true : undefined), 20_000, 200);
  });

  it('serves kube-proxy-named metrics', async () => {
    await api.apply(servicePlan([endpoint('10.244.1.5')]));
    await waitFor('programming latency observed', async () => {
      const text = await (await fetch(`${agent!.http.url}/metrics`)).text();
      return /natplan_network_programming_duration_seconds_count [1-9]/.test(text) ? text : undefined;
    }, 20_000, 200).then((text) => {
      expect(text).toMatch(/natplan_sync_proxy_rules_duration_seconds_count [1-9]/);
      expect(text).toContain('natplan_sync_proxy_rules_last_timestamp_seconds');
    });
    expect((await fetch(`${agent!.http.url}/readyz`)).ok).toBe(true);
  });
});

describe('natplan cleanup', () => {
  it('removes every rule the agent installed, through the real command line', async () => {
    await agent?.stop();
    agent = undefined;
    expect((await node.run(['nft', 'list', 'tables'])).stdout).toContain('natplan');
    const cli = await new Promise<{ code: number | null; stderr: string }>((resolve) => {
      const child = spawn(process.execPath, ['--import', 'tsx', fileURLToPath(new URL('../../bin/natplan.ts', import.meta.url)), 'cleanup', `--netns=${node.namespace}`], { stdio: ['ignore', 'ignore', 'pipe'] });
      let stderr = '';
      child.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
      child.on('exit', (code) => resolve({ code, stderr }));
    });
    expect(cli.code, cli.stderr).toBe(0);
    expect((await node.run(['nft', 'list', 'tables'])).stdout).not.toContain('natplan');
    expect((await tcpProbe(client, '172.18.0.2', 30080, { count: 1, timeoutMs: 500 }))[0]?.ok).toBe(false);
  });
});

async function metric(series: string): Promise<number> {
  const text = await (await fetch(`${agent!.http.url}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return Number(line?.slice(series.length + 1) ?? 0);
}

async function statusWrites(): Promise<number> {
  const text = await (await fetch(`${agent!.http.url}/metrics`)).text();
  return Number(/natplan_status_writes_total (\d+)/.exec(text)?.[1] ?? 0);
}
