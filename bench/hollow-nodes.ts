/**
 * Hollow nodes (issue 13 item 5): `npm run bench:hollow-nodes [-- --nodes=100 --services=1000,10000 | --smoke] [--faults]`.
 *
 * A real API server (e2e/control-plane) with K Nodes and N Services x 10 endpoints
 * (EndpointSlices written directly), the natplan operator as its own process, and K node
 * agents in this one process: each is the real agent (startAgent: its own watches, sync
 * loop, desired state, render, diff, applier, status writes) whose exec target is a
 * DryRunExec (dry-run-exec.ts), so it renders and diffs but never reaches a kernel.
 *
 * Then endpoint changes, one at a time, 1.1 s apart (the agents sync at most once a
 * second): network programming latency is the time from the EndpointSlice write to the
 * moment each agent commits a script naming the new address, p50/p99 over K x changes
 * (DESIGN.md budget: p99 < 1 s at 100 nodes and 10k Services). The agents' own
 * natplan_network_programming_duration_seconds (trigger time to confirmed sync) is
 * printed beside it as a mean.
 *
 * Watch traffic: the API server's apiserver_watch_events_sizes over the changes, per
 * endpoint change: ServiceNatPlan events to the K agents, against what kube-proxy would
 * cause, one EndpointSlice event per node (its size measured from the one watcher here,
 * the operator; kube-proxy reads built-in types as protobuf, sized here too).
 *
 * `--faults`: the agents reach the API server through e2e/control-plane's fault proxy,
 * which cuts every agent connection as each change begins (a reset, or a FIN, in turn),
 * so each change is programmed by agents that must list and watch again first. Its
 * latencies are those of recovery, not of the steady state.
 */
import { readFileSync } from 'node:fs';
import { request } from 'node:https';
import { loadavg } from 'node:os';
import { call, jsonLogger, kubeRequester, PlainClusterAccess, type ClusterAccess, type Requester } from '@natplan/controller-kit';
import { FaultProxy, startControlPlane, type ControlPlane } from '@natplan/e2e/control-plane';
import { parseAgentConfig, type RunningAgent, startAgent } from '@natplan/node-agent';
import { DryRunExec } from './dry-run-exec.js';
import { cpuSeconds, percentile, rss } from './host-guard.js';
import { changedAddress, changeEndpoint, createNode, createServices, namespaceOf, serviceName } from './kube-objects.js';
import { compileNatplan, startOperatorProcess, waitForPlans } from './natplan-processes.js';

const smoke = process.argv.includes('--smoke');
const flag = (name: string) => process.argv.find((a) => a.startsWith(`--${name}=`))?.split('=')[1];
const NODES = smoke ? 3 : Number(flag('nodes') ?? 100);
const SIZES = smoke ? [50] : (flag('services') ?? '1000,10000').split(',').map(Number);
const CHANGES = smoke ? 3 : Number(flag('changes') ?? 20);
const FAULTS = process.argv.includes('--faults');
const CHANGE_TIMEOUT_MS = 300_000;
const BUDGET_P99_S = 1;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const load = () => loadavg().map((l) => l.toFixed(1)).join(' ');
const mib = (bytes: number) => Math.round(bytes / 2 ** 20);

interface HollowNode { name: string; exec: DryRunExec; agent: RunningAgent }

/** Sum of a Prometheus metric's samples whose labels mention `resource` (resource or kind label). */
function metricSum(text: string, name: string, resource: RegExp): number {
  let sum = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`)) continue;
    const labels = line.slice(name.length, line.lastIndexOf('}') + 1);
    if (resource.test(labels)) sum += Number(line.split(' ').at(-1));
  }
  return sum;
}

async function apiMetrics(requester: Requester): Promise<string> {
  return String((await requester({ method: 'GET', path: '/metrics' })).body);
}

async function startHollowNodes(cp: ControlPlane, count: number, access: ClusterAccess): Promise<HollowNode[]> {
  const nodes: HollowNode[] = [];
  for (let k = 0; k < count; k++) {
    const name = `node-${k}`;
    const parsed = parseAgentConfig([`--node-name=${name}`, '--metrics-address=127.0.0.1:0', '--healthz-bind-address=', '--health-check-servers=false', '--log-level=error'], {});
    if (!parsed.ok) throw new Error(parsed.errors.join('; '));
    // A namespace name that does not exist: should anything bypass the dry run, it fails.
    const exec = new DryRunExec({ netns: `natplan-hollow-${k}` });
    const agent = await startAgent({ kubeConfig: access, config: parsed.config, logger: jsonLogger({ component: 'agent', level: 'error' }).with({ node: name }), exec });
    nodes.push({ name, exec, agent });
  }
  return nodes;
}

/** Resolves when every agent has had a confirmed sync; fails on an unconfirmed one. */
async function allSynced(nodes: readonly HollowNode[], timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    let synced = 0;
    for (const n of nodes) {
      const text = await n.agent.metrics.text();
      const unconfirmed = metricSum(text, 'natplan_kernel_unconfirmed_syncs_total', /./);
      if (unconfirmed > 0) throw new Error(`${n.name}: the dry-run exec did not confirm a sync (its read-backs no longer match the applier's)`);
      if (/^natplan_sync_proxy_rules_last_timestamp_seconds [1-9]/m.test(text)) synced += 1;
    }
    if (synced === nodes.length) return;
    if (Date.now() > deadline) throw new Error(`only ${synced} of ${nodes.length} agents synced within ${timeoutMs} ms`);
    await sleep(500);
  }
}

/** Mean of the agents' natplan_network_programming_duration_seconds since `before` (sum, count per agent). */
async function programmingMean(nodes: readonly HollowNode[], before: Map<string, [number, number]>): Promise<number> {
  let sum = 0;
  let count = 0;
  for (const n of nodes) {
    const text = await n.agent.metrics.text();
    const s = Number(/^natplan_network_programming_duration_seconds_sum (\S+)/m.exec(text)?.[1] ?? 0);
    const c = Number(/^natplan_network_programming_duration_seconds_count (\S+)/m.exec(text)?.[1] ?? 0);
    const [s0, c0] = before.get(n.name) ?? [0, 0];
    sum += s - s0;
    count += c - c0;
    before.set(n.name, [s, c]);
  }
  return count > 0 ? sum / count : NaN;
}

async function benchSize(n: number): Promise<void> {
  const cp = await startControlPlane();
  const operatorProcess = { stop: async () => {} };
  let nodes: HollowNode[] = [];
  let proxy: FaultProxy | undefined;
  try {
    const c = cp.certificates;
    if (FAULTS) proxy = await FaultProxy.start(cp.server);
    const access = proxy ? new PlainClusterAccess({ server: proxy.url(), ca: { file: c.caCert }, clientCert: { file: c.adminCert }, clientKey: { file: c.adminKey } }) : cp.kubeConfig;
    const requester = kubeRequester(cp.kubeConfig);
    for (let k = 0; k < NODES; k++) await createNode(requester, `node-${k}`, `172.18.${k >> 8}.${(k & 255) + 1}`, `10.244.${k}.0/24`);
    let t = Date.now();
    await createServices(requester, n);
    console.log(`\n## ${NODES} hollow nodes, ${n} Services x 10 endpoints (created in ${((Date.now() - t) / 1000).toFixed(1)} s; load average ${load()})`);
    t = Date.now();
    const operator = startOperatorProcess(cp, !smoke);
    operatorProcess.stop = () => operator.stop();
    const planS = await waitForPlans(requester, operator, n, NODES, t);
    t = Date.now();
    const cpu0 = process.cpuUsage();
    nodes = await startHollowNodes(cp, NODES, access);
    await allSynced(nodes, 30 * 60_000);
    const coldS = (Date.now() - t) / 1000;
    const coldCpu = process.cpuUsage(cpu0);
    console.log(`operator's first plan ${planS.toFixed(1)} s; ${NODES} agents started and synced in ${coldS.toFixed(1)} s ` +
      `(CPU ${((coldCpu.user + coldCpu.system) / 1e6).toFixed(1)} s; heap ${mib(process.memoryUsage().heapUsed)} MiB, RSS ${mib(process.memoryUsage().rss)} MiB)`);
    await sleep(2000); // let the agents' own first status writes and their watch events pass

    const programming = new Map<string, [number, number]>();
    await programmingMean(nodes, programming);
    const apiserver = cp.processes.find((p) => p.name === 'kube-apiserver')!;
    const metrics0 = await apiMetrics(requester);
    const apiCpu0 = cpuSeconds(apiserver.pid);
    const ownCpu0 = process.cpuUsage();
    const latencies: number[] = [];
    const perChange: number[] = [];
    for (let c = 0; c < CHANGES; c++) {
      const address = changedAddress(0, c);
      const pattern = new RegExp(`\\b${address.replace(/\./g, '\\.')}(?![0-9])`);
      const seen = nodes.map((node) => new Promise<number>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`${node.name} committed nothing naming ${address} within ${CHANGE_TIMEOUT_MS} ms`)), CHANGE_TIMEOUT_MS);
        node.exec.onCommit = (commit) => { if (pattern.test(commit.script)) { clearTimeout(timer); resolve(commit.at); } };
      }));
      if (proxy && c % 2 === 0) proxy.resetAll();
      else if (proxy) proxy.endAll();
      const writtenAt = await changeEndpoint(requester, (c * 7919 + 1) % n, address);
      const at = await Promise.all(seen);
      for (const a of at) latencies.push((a - writtenAt) / 1000);
      perChange.push((Math.max(...at) - writtenAt) / 1000);
      await sleep(1100);
    }
    for (const node of nodes) node.exec.onCommit = undefined;
    await sleep(1000);
    const metrics1 = await apiMetrics(requester);
    const apiCpuS = cpuSeconds(apiserver.pid) - apiCpu0;
    const ownCpu = process.cpuUsage(ownCpu0);
    const mean = await programmingMean(nodes, programming);
    const p99 = percentile(latencies, 99);
    console.log(`network programming, EndpointSlice write -> agent commit (${NODES} agents x ${CHANGES} changes): p50 ${percentile(latencies, 50).toFixed(3)} s, ` +
      `p99 ${p99.toFixed(3)} s, max ${Math.max(...latencies).toFixed(3)} s; slowest agent per change p50 ${percentile(perChange, 50).toFixed(3)} s; ` +
      `budget p99 < ${BUDGET_P99_S} s: ${p99 < BUDGET_P99_S ? 'met' : `missed by ${(p99 - BUDGET_P99_S).toFixed(2)} s`}`);
    console.log(`agents' natplan_network_programming_duration_seconds (trigger time -> confirmed sync), mean ${mean.toFixed(3)} s; ` +
      `CPU during the changes: agents' process ${((ownCpu.user + ownCpu.system) / 1e6 / CHANGES).toFixed(2)} s per change ` +
      `(${((ownCpu.user + ownCpu.system) / 1e3 / CHANGES / NODES).toFixed(1)} ms per agent; one thread), API server ${(apiCpuS / CHANGES).toFixed(2)} s per change`);

    const delta = (name: string, resource: RegExp) => metricSum(metrics1, name, resource) - metricSum(metrics0, name, resource);
    const planBytes = delta('apiserver_watch_events_sizes_sum', /servicenatplans|ServiceNatPlan/);
    const planEvents = delta('apiserver_watch_events_total', /servicenatplans|ServiceNatPlan/);
    const nodePlanBytes = delta('apiserver_watch_events_sizes_sum', /nodenatplans|NodeNatPlan/);
    const sliceBytes = delta('apiserver_watch_events_sizes_sum', /endpointslices|EndpointSlice/);
    const sliceEvents = delta('apiserver_watch_events_total', /endpointslices|EndpointSlice/);
    const sliceJson = sliceEvents > 0 ? sliceBytes / sliceEvents : NaN;
    const path = `/apis/discovery.k8s.io/v1/namespaces/${namespaceOf(1)}/endpointslices/${serviceName(1)}-0`;
    const protoBytes = await protobufSize(cp, path);
    const jsonBytes = Buffer.byteLength(JSON.stringify(await call(requester, { method: 'GET', path })));
    // The operator watches ServiceNatPlans too: one of the events per change is its own.
    const planEvent = planBytes / Math.max(1, planEvents);
    const toAgents = planEvent * NODES;
    console.log(`watch bytes per endpoint change: ServiceNatPlan ${(planEvents / CHANGES).toFixed(1)} events (${NODES} agents + the operator, and watch bookmarks) of ${Math.round(planEvent)} B on average, ` +
      `${Math.round(toAgents)} B to the agents; NodeNatPlan ${Math.round(nodePlanBytes / CHANGES)} B (the agents' own rate-limited status writes, not caused by the change); the EndpointSlice event itself ${Math.round(sliceJson)} B as JSON ` +
      `(${(sliceEvents / CHANGES).toFixed(1)} EndpointSlice watch events per change here: the operator's and the API server's own)`);
    console.log(`kube-proxy's fan-out for the same change at ${NODES} nodes: ${NODES} EndpointSlice events, ${Math.round(NODES * sliceJson)} B as JSON, ` +
      `about ${Math.round(NODES * sliceJson * (protoBytes / jsonBytes))} B as protobuf, which it asks for (a GET of the slice: ${protoBytes} B protobuf, ${jsonBytes} B JSON); ` +
      `natplan/kube-proxy ${(toAgents / (NODES * sliceJson)).toFixed(2)}× (JSON), ${(toAgents / (NODES * sliceJson * (protoBytes / jsonBytes))).toFixed(2)}× (protobuf)`);
    if (proxy) console.log(`faults: the agents' connections cut as each change began: ${proxy.stats.resets} reset, ${proxy.stats.ends} ended with a FIN; the latencies above include recovery`);
    const mem = process.memoryUsage();
    const own = rss(process.pid);
    console.log(`this process (${NODES} agents): RSS ${own?.now ?? '?'} MiB (peak ${own?.peak ?? '?'}), heap ${mib(mem.heapUsed)} MiB; ` +
      `dry-run commits ${nodes.reduce((s, x) => s + x.exec.commitCount, 0)}; API server RSS ${rss(apiserver.pid)?.now ?? '?'} MiB; load average ${load()}`);
  } finally {
    for (const node of nodes) await node.agent.stop().catch(() => undefined);
    await operatorProcess.stop();
    await proxy?.stop();
    await cp.stop();
  }
}

/** Size of an object as the API server sends it in protobuf (what kube-proxy's informers ask for). */
function protobufSize(cp: ControlPlane, path: string): Promise<number> {
  const c = cp.certificates;
  return new Promise((resolve, reject) => {
    const req = request(`${cp.server}${path}`, { ca: readFileSync(c.caCert), cert: readFileSync(c.adminCert), key: readFileSync(c.adminKey), headers: { Accept: 'application/vnd.kubernetes.protobuf' } }, (res) => {
      let bytes = 0;
      res.on('data', (chunk: Buffer) => { bytes += chunk.length; });
      res.on('end', () => (res.statusCode === 200 ? resolve(bytes) : reject(new Error(`GET ${path} as protobuf: ${res.statusCode}`))));
    });
    req.on('error', reject);
    req.end();
  });
}

console.log(`# hollow nodes (${new Date().toISOString()}, node ${process.version}${smoke ? ', --smoke' : ''}${FAULTS ? ', --faults' : ''}; load average ${load()})`);
if (!smoke) console.log(`# natplan compiled into dist/ in ${compileNatplan().toFixed(1)} s`);
for (const n of SIZES) await benchSize(n);
