// Operator first-plan benchmark (issue 13 item 4, budget: 10k Services planned in < 20 s).
// A fresh API server (e2e/control-plane) gets N selector-less Services, each with one
// EndpointSlice of 10 ready endpoints, created directly through the API; then the operator
// starts (in this process, leader election off) and the clock runs until every Service's
// ServiceNatPlan exists, as seen by a watch opened before the operator started.
// Prints total time, reconciles per Service, writes, and the API server's RSS.
// A script, not a test; it asserts nothing:
//   npx tsx bench/operator-first-plan.ts [sizes, e.g. 1000,10000] [--smoke] [--profile] [-- operator flags]
// --profile: a CPU profile of the API server over the first 20 s of the plan (or the whole
// plan if shorter), saved under /tmp and summarised by request-handling stage.
// --smoke: 50 Services, so CI proves the benchmark still runs (timings are not judged).
import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { Watch, type KubernetesObject } from '@kubernetes/client-node';
import { call, jsonLogger, kubeRequester, type Requester } from '@natplan/controller-kit';
import { startControlPlane, type ControlPlane } from '@natplan/e2e/control-plane';
import { parseOperatorConfig, startOperator } from '@natplan/operator';
import { profileApiServer, type ApiServerProfile } from './apiserver-profile.js';

const smoke = process.argv.includes('--smoke');
const profile = process.argv.includes('--profile');
/** Long enough to see the steady state of a 10k plan, short enough to end inside a 1k one. */
const PROFILE_SECONDS = 20;
const dashDash = process.argv.indexOf('--');
const ownArgs = dashDash < 0 ? process.argv.slice(2) : process.argv.slice(2, dashDash);
const operatorFlags = dashDash < 0 ? [] : process.argv.slice(dashDash + 1);
const sizes = (smoke ? '50' : ownArgs.find((a) => !a.startsWith('--')) ?? '1000,10000').split(',').map(Number);
const NAMESPACES = 10;
const ENDPOINTS = 10;
/** Concurrent creations: enough to keep the API server busy without queueing thousands of sockets. */
const CREATE_CONCURRENCY = 32;

const namespaceOf = (i: number) => `bench-${i % NAMESPACES}`;

function service(i: number) {
  return { apiVersion: 'v1', kind: 'Service', metadata: { namespace: namespaceOf(i), name: `svc-${i}` }, spec: { ports: [{ name: 'http', protocol: 'TCP', port: 80, targetPort: 8080 }] } };
}

function slice(i: number) {
  const endpoints = Array.from({ length: ENDPOINTS }, (_, e) => {
    const n = i * ENDPOINTS + e; // pods 10.244.0.0/16 and up: unique per endpoint
    return { addresses: [`10.${244 + (n >> 16)}.${(n >> 8) & 255}.${n & 255}`], conditions: { ready: true, serving: true, terminating: false } };
  });
  return {
    apiVersion: 'discovery.k8s.io/v1', kind: 'EndpointSlice',
    metadata: { namespace: namespaceOf(i), name: `svc-${i}-0`, labels: { 'kubernetes.io/service-name': `svc-${i}`, 'endpointslice.kubernetes.io/managed-by': 'bench' } },
    addressType: 'IPv4', endpoints, ports: [{ name: 'http', protocol: 'TCP', port: 8080 }],
  };
}

async function runLimited(count: number, concurrency: number, task: (i: number) => Promise<unknown>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (next < count) await task(next++);
  }));
}

async function create(requester: Requester, n: number): Promise<void> {
  const post = (path: string, body: object) => call(requester, { method: 'POST', path, body: JSON.stringify(body) });
  for (let ns = 0; ns < Math.min(n, NAMESPACES); ns++) await post('/api/v1/namespaces', { metadata: { name: `bench-${ns}` } });
  await runLimited(n, CREATE_CONCURRENCY, async (i) => {
    await post(`/api/v1/namespaces/${namespaceOf(i)}/services`, service(i));
    await post(`/apis/discovery.k8s.io/v1/namespaces/${namespaceOf(i)}/endpointslices`, slice(i));
  });
}

function rssMiB(pid: number): number {
  const line = readFileSync(`/proc/${pid}/status`, 'utf8').split('\n').find((l) => l.startsWith('VmRSS:'));
  return Math.round(Number(line?.split(/\s+/)[1] ?? 0) / 1024);
}

/**
 * Resolves when every bench Service has a ServiceNatPlan, from a watch that starts now. A
 * watch the server ends early (seen once under heavy load, with no error) is resumed from
 * the last resourceVersion it delivered, so no plan is missed and the bench cannot hang.
 */
async function watchPlans(cp: ControlPlane, requester: Requester, n: number): Promise<{ done: Promise<void>; stop: () => void }> {
  const list = await call<{ metadata: { resourceVersion: string } }>(requester, { method: 'GET', path: '/apis/natplan.io/v1alpha1/servicenatplans', query: { limit: 1 } });
  const planned = new Set<string>();
  let finish!: () => void;
  let stopped = false;
  let lastVersion = list.metadata.resourceVersion;
  let current: { abort(): void } | undefined;
  const done = new Promise<void>((resolve) => (finish = resolve));
  const watch = async (): Promise<void> => {
    current = await new Watch(cp.kubeConfig).watch('/apis/natplan.io/v1alpha1/servicenatplans', { resourceVersion: lastVersion, allowWatchBookmarks: true }, (type, obj: KubernetesObject) => {
      if (obj.metadata?.resourceVersion) lastVersion = obj.metadata.resourceVersion;
      if (type !== 'ADDED' || !obj.metadata?.namespace?.startsWith('bench-')) return;
      planned.add(`${obj.metadata.namespace}/${obj.metadata.labels?.['natplan.io/service-name']}`);
      if (planned.size >= n) finish();
    }, (err) => {
      if (stopped || planned.size >= n) return;
      console.error(`plan watch ended${err ? `: ${String(err)}` : ''}; resuming from resourceVersion ${lastVersion}`);
      void watch();
    });
  };
  await watch();
  return { done, stop: () => { stopped = true; current?.abort(); } };
}

function metricValue(text: string, name: string, labels: string): number {
  const line = text.split('\n').find((l) => l.startsWith(`${name}{`) && labels.split(',').every((kv) => l.includes(kv)));
  return line ? Number(line.split(' ').at(-1)) : 0;
}

/** CPU seconds (user + system) a process has used: where the first plan's time goes on a small machine. */
function cpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100; // utime, stime in clock ticks (100 Hz)
}

async function benchSize(n: number): Promise<void> {
  const cp = await startControlPlane();
  try {
    const requester = kubeRequester(cp.kubeConfig);
    const apiserver = cp.processes.find((p) => p.name === 'kube-apiserver');
    let t = performance.now();
    await create(requester, n);
    const createdS = (performance.now() - t) / 1000;
    const plans = await watchPlans(cp, requester, n);
    const parsed = parseOperatorConfig(['--leader-elect=false', '--metrics-address=127.0.0.1:0', '--cluster-cidrs=10.244.0.0/14', '--log-level=error', ...operatorFlags], {}, 'bench');
    if (!parsed.ok) throw new Error(parsed.errors.join('; '));
    t = performance.now();
    const apiCpu0 = apiserver ? cpuSeconds(apiserver.pid) : 0;
    const ownCpu0 = process.cpuUsage();
    const profiled: ApiServerProfile | undefined = profile ? profileApiServer(cp.kubeconfigPath, PROFILE_SECONDS, `/tmp/natplan-first-plan-${n}.pprof`) : undefined;
    const op = await startOperator({ kubeConfig: cp.kubeConfig, config: parsed.config, logger: jsonLogger({ component: 'operator', level: 'error' }) });
    await plans.done;
    const planS = (performance.now() - t) / 1000;
    const apiCpuS = apiserver ? cpuSeconds(apiserver.pid) - apiCpu0 : NaN;
    const ownCpu = process.cpuUsage(ownCpu0);
    const ownCpuS = (ownCpu.user + ownCpu.system) / 1e6;
    plans.stop();
    // Writes are counted when their response arrives, and a late watch event may still queue
    // a reconcile: read the figures once the Services queue stayed idle for 300 ms.
    let text = '';
    for (let idleReads = 0; idleReads < 2;) {
      await new Promise((resolve) => setTimeout(resolve, 300));
      text = await op.metrics.text();
      const busy = metricValue(text, 'natplan_workqueue_depth', 'controller="services"') + metricValue(text, 'natplan_workqueue_in_flight', 'controller="services"');
      idleReads = busy === 0 ? idleReads + 1 : 0;
    }
    // Counts include Service default/kubernetes, which is planned too (n + 1 Services in all).
    const reconciles = metricValue(text, 'natplan_controller_reconcile_duration_seconds_count', 'controller="services"');
    const writes = metricValue(text, 'natplan_operator_writes_total', 'kind="ServiceNatPlan",op="apply"');
    const retries = metricValue(text, 'natplan_workqueue_retries_total', 'controller="services"');
    const { workers, qps, burst } = parsed.config.throughput;
    console.log(`${String(n).padStart(6)} Services: created in ${createdS.toFixed(1)} s; first plan ${planS.toFixed(1)} s (${Math.round(n / planS)} plans/s), ` +
      `${(reconciles / n).toFixed(2)} reconciles/Service, ${writes} plan writes, ${retries} retries, workers ${workers}, qps ${qps}/burst ${burst}; ` +
      `CPU during the plan: API server ${apiCpuS.toFixed(1)} s, operator ${ownCpuS.toFixed(1)} s; ` +
      `API server RSS ${apiserver ? rssMiB(apiserver.pid) : '?'} MiB, bench+operator RSS ${Math.round(process.memoryUsage().rss / 2 ** 20)} MiB`);
    await op.stop();
    if (profiled) for (const line of await profiled.finished) console.log(line);
  } finally {
    await cp.stop();
  }
}

for (const n of sizes) await benchSize(n);
