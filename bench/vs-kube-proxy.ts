/**
 * natplan against the real kube-proxy (v1.34, `--proxy-mode=nftables`, built by
 * tools/k8s-binaries), issue 13 item 1: `npm run bench:vs-kube-proxy [-- --full | --smoke]`;
 * `--natplan-only` skips kube-proxy and the ratio line (for work on natplan alone),
 * `--trace-dir=DIR` keeps natplan's debug logs there, `--agent-flags` and
 * `--agent-heap-snapshot` below.
 *
 * One real API server per size (e2e/control-plane) holds N ClusterIP Services, each with
 * one EndpointSlice of 10 endpoints written directly (no pods). Each dataplane runs in a
 * node namespace of its own (bench-node.ts), one after the other, never both at once:
 * kube-proxy; then the natplan operator (host namespace) and agent (node namespace).
 * Per size it prints:
 *  - cold start: process start until the last Service's cluster IP completes a TCP
 *    handshake from inside the node (the packet crosses the kernel's ruleset), for natplan
 *    the agent's start with every plan already written (the operator's first plan apart);
 *  - one endpoint change: EndpointSlice write (stamped with the trigger-time annotation)
 *    until the end of the sync that programmed it into the kernel, read from each
 *    dataplane's own kube-proxy metrics (bench-node.ts: programming count, last sync
 *    time); p50/p99 over 10 changes, 1.1 s apart (both sync at most once a second).
 *    (`nft monitor` was tried first: beside kube-proxy's 10k ruleset nft 1.0.6 spent
 *    over 6 minutes filling its cache before it reported anything);
 *  - connect latency: handshakes from the node to cluster IPs of 200 Services, p50/p99;
 *  - RSS of each process (VmRSS after the changes, VmHWM as peak).
 * The last line compares natplan with kube-proxy at 10k (or the largest size run).
 * The machine's own ruleset is read before and after and must be unchanged.
 */
import { appendFileSync, copyFileSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { kubeRequester, type Requester } from '@natplan/controller-kit';
import { binaryPath, type ControlPlane, startControlPlane, startProcess } from '@natplan/e2e/control-plane';
import { Topology } from '@natplan/e2e/netns';
import { addBenchNode, NODE_IP, type BenchNode } from './bench-node.js';
import { assertHostRulesetUnchanged, hostRuleset, percentile, rss } from './host-guard.js';
import { changedAddress, changeEndpoint, createNode, createServices, POD_RANGE } from './kube-objects.js';
import { compileNatplan, natplanArgv, natplanNode, startOperatorProcess, waitForPlans } from './natplan-processes.js';

const smoke = process.argv.includes('--smoke');
const full = process.argv.includes('--full');
/** Skips kube-proxy (its 10k cold start alone takes minutes): for working on natplan; no ratio line. */
const natplanOnly = process.argv.includes('--natplan-only');
/** `--trace-dir=DIR`: natplan's debug logs (the agent's with --trace-gc) and each change's write time, for per-stage figures. */
const TRACE = process.argv.find((a) => a.startsWith('--trace-dir='))?.slice('--trace-dir='.length);
/**
 * `--agent-flags='A|B'`: runs the agent once per variant (node flags, space-separated; an
 * empty variant is none) on the same API server and plans, to compare them in one run.
 * The first variant's figures are the ones compared with kube-proxy.
 */
const AGENT_VARIANTS = (process.argv.find((a) => a.startsWith('--agent-flags='))?.slice('--agent-flags='.length).split('|') ?? [''])
  .map((v) => v.split(' ').filter(Boolean));
/** `--agent-heap-snapshot=DIR`: after the changes, each agent writes a V8 heap snapshot into DIR (read it with bench/heap-summary.ts). */
const HEAP_SNAPSHOT_DIR = process.argv.find((a) => a.startsWith('--agent-heap-snapshot='))?.slice('--agent-heap-snapshot='.length);
const sizeArg = process.argv.slice(2).find((a) => /^\d+(,\d+)*$/.test(a));
const SIZES = smoke ? [20] : sizeArg ? sizeArg.split(',').map(Number) : full ? [1000, 10_000, 30_000] : [1000, 10_000];
const CHANGES = smoke ? 3 : 10;
const CONNECTS = smoke ? 20 : 1000;
const NODE = 'bench-node';
const NATPLAN = natplanArgv(!smoke);
const NATPLAN_NODE = natplanNode(!smoke);
const FORWARDER = fileURLToPath(new URL('../e2e/real-node/forward.mjs', import.meta.url));
/** Long enough for kube-proxy's first sync at 30k on 2 busy cores. */
const COLD_DEADLINE_MS = 30 * 60_000;
const CHANGE_TIMEOUT_MS = smoke ? 20_000 : 180_000;

type Rss = { now: number; peak: number } | undefined;
interface Figures { coldS: number; changesMs: number[]; connect: { samples: number[]; failures: number }; rss: Record<string, Rss>; note?: string }

/** Teardown steps, run last-in first-out on success, failure and Ctrl-C alike. */
const cleanups: (() => Promise<unknown>)[] = [];
async function runCleanups(): Promise<void> {
  while (cleanups.length > 0) await cleanups.pop()!().catch((err: unknown) => console.error('cleanup:', String(err)));
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const label = (n: number) => (n >= 1000 && n % 1000 === 0 ? `${n / 1000}k` : String(n));
const load = () => loadavg().map((l) => l.toFixed(1)).join(' ');

/** `CHANGES` endpoint changes, each timed from the EndpointSlice write to the end of the sync that programmed it. */
async function measureChanges(node: BenchNode, requester: Requester, n: number, round: number): Promise<number[]> {
  // The first connect may come before the end of the sync that made it work (natplan's
  // check after a 10k cold start reads the rule handles for seconds): changes start 3 s
  // after that first sync ended, so the first change does not time the cold start's tail.
  await node.firstSyncEnded(COLD_DEADLINE_MS);
  await sleep(3000);
  const samples: number[] = [];
  for (let c = 0; c < CHANGES; c++) {
    const count = await node.programmingCount();
    const writtenAt = await changeEndpoint(requester, (c * 7919 + 1) % n, changedAddress(round, c));
    samples.push(await node.programmed(count, writtenAt, CHANGE_TIMEOUT_MS));
    if (TRACE) appendFileSync(join(TRACE, `changes-${n}-${round}.log`), `${new Date(writtenAt).toISOString()} ${samples.at(-1)!.toFixed(1)} ${(c * 7919 + 1) % n}\n`);
    await sleep(1100);
  }
  return samples;
}

/** Connect targets: the cluster IPs of up to 200 Services spread over the set. */
function sample(clusterIPs: readonly string[]): string[] {
  const step = Math.max(1, Math.floor(clusterIPs.length / 200));
  return clusterIPs.filter((_, i) => i % step === 0).slice(0, 200);
}

async function kubeProxy(cp: ControlPlane, ctx: SizeContext): Promise<Figures> {
  const node = await addBenchNode(ctx.topology, 'kp', ctx.apiPort, ctx.apiSocket, 10249);
  try {
    const started = Date.now();
    const proc = node.node.spawn([
      binaryPath('kube-proxy'), '--proxy-mode=nftables', `--kubeconfig=${cp.kubeconfigPath}`, `--hostname-override=${NODE}`,
      `--cluster-cidr=${POD_RANGE}`, '--metrics-bind-address=127.0.0.1:10249', '--healthz-bind-address=127.0.0.1:10256',
      // conntrack limits and timeouts are machine-wide sysctls: leave them alone. Same for the OOM score.
      '--conntrack-max-per-core=0', '--conntrack-tcp-timeout-established=0', '--conntrack-tcp-timeout-close-wait=0', '--oom-score-adj=0', '--v=0',
    ]);
    const pid = proc.child.pid ?? 0;
    const cold = await ctx.firstConnect(node, started, () => proc.child.exitCode !== null ? `kube-proxy exited: ${proc.output()}` : undefined);
    console.log(`kube-proxy cold start ${cold.toFixed(2)} s (load average ${load()})`);
    const changesMs = await measureChanges(node, ctx.requester, ctx.n, 0);
    const connect = await node.connectLatencies(ctx.targets, CONNECTS);
    const figures = { coldS: cold, changesMs, connect, rss: { 'kube-proxy': rss(pid) } };
    proc.kill();
    return figures;
  } finally {
    await node.remove();
  }
}

async function natplan(cp: ControlPlane, ctx: SizeContext): Promise<Figures> {
  const planStarted = Date.now();
  const operator = startOperatorProcess(cp, !smoke, TRACE ? 'debug' : 'warn');
  cleanups.push(() => operator.stop());
  try {
    const firstPlanS = await waitForPlans(ctx.requester, operator, ctx.n, 1, planStarted);
    console.log(`natplan    ${firstPlanNote(firstPlanS)}`);
    const runs: Figures[] = [];
    for (const [i, flags] of AGENT_VARIANTS.entries()) {
      const agent = await natplanAgent(cp, ctx, flags, i + 1);
      const figures: Figures = { ...agent, rss: { ...agent.rss, operator: rss(operator.pid) }, note: firstPlanNote(firstPlanS) };
      if (AGENT_VARIANTS.length > 1) print(`natplan (agent node flags: ${flags.join(' ') || 'none'})`, figures);
      runs.push(figures);
    }
    return runs[0]!;
  } finally {
    await operator.stop();
    if (TRACE) copyFileSync(join(cp.dir, 'operator.log'), join(TRACE, `operator-${ctx.n}.log`));
  }
}

/** One agent from process start: cold start, changes, connects, its RSS; `round` makes the changed addresses new. */
async function natplanAgent(cp: ControlPlane, ctx: SizeContext, nodeFlags: readonly string[], round: number): Promise<Omit<Figures, 'note'>> {
  const node = await addBenchNode(ctx.topology, 'np', ctx.apiPort, ctx.apiSocket, 10261);
  try {
    const started = Date.now();
    const argv = [
      NATPLAN_NODE, ...nodeFlags, ...(TRACE ? ['--trace-gc'] : []),
      ...(HEAP_SNAPSHOT_DIR ? ['--heapsnapshot-signal=SIGUSR2', `--diagnostic-dir=${HEAP_SNAPSHOT_DIR}`] : []),
      ...NATPLAN, 'agent', `--node-name=${NODE}`, `--kubeconfig=${cp.kubeconfigPath}`,
      '--metrics-address=127.0.0.1:10261', '--healthz-bind-address=', TRACE ? '--log-level=debug' : '--log-level=warn',
    ];
    const agent = node.node.spawn(TRACE ? ['sh', '-c', `exec "$0" "$@" >'${TRACE}/agent-${ctx.n}-${round}.log' 2>&1`, ...argv] : argv);
    const pid = agent.child.pid ?? 0;
    const cold = await ctx.firstConnect(node, started, () => agent.child.exitCode !== null ? `the agent exited: ${agent.output()}` : undefined);
    console.log(`natplan    cold start ${cold.toFixed(2)} s (load average ${load()})`);
    const changesMs = await measureChanges(node, ctx.requester, ctx.n, round);
    const connect = await node.connectLatencies(ctx.targets, CONNECTS);
    const figures = { coldS: cold, changesMs, connect, rss: { agent: rss(pid) } };
    console.log(`natplan    agent heap: ${heapFigures(await node.scrape())}`);
    if (HEAP_SNAPSHOT_DIR) console.log(`natplan    agent heap snapshot: ${await heapSnapshot(pid, HEAP_SNAPSHOT_DIR)}`);
    // SIGTERM first, as the kubelet does: the agent exits by itself (and --cpu-prof writes its profile).
    agent.child.kill('SIGTERM');
    await Promise.race([new Promise((resolve) => agent.child.once('exit', resolve)), sleep(15_000)]);
    agent.kill();
    return figures;
  } finally {
    await node.remove();
  }
}

/** Signals `pid` to write a heap snapshot into `dir`; resolves with its path once the file stops growing. */
async function heapSnapshot(pid: number, dir: string): Promise<string> {
  const ours = () => readdirSync(dir).filter((f) => f.endsWith('.heapsnapshot') && f.includes(`.${pid}.`));
  const before = new Set(ours());
  process.kill(pid, 'SIGUSR2');
  let size = -1;
  for (;;) {
    await sleep(2000);
    const file = ours().find((f) => !before.has(f));
    if (!file) continue;
    const now = statSync(join(dir, file)).size;
    if (now === size && now > 0) return join(dir, file);
    size = now;
  }
}

/** Where the agent's RSS goes, from its own Node.js metrics (prom-client's defaults). */
function heapFigures(metrics: string): string {
  const mib = (re: RegExp) => { const m = re.exec(metrics); return m ? `${(Number(m[1]) / 2 ** 20).toFixed(0)}` : '?'; };
  const space = (name: string) => `${name} ${mib(new RegExp(`^natplan_nodejs_heap_space_size_used_bytes\\{space="${name}"\\} (\\S+)$`, 'm'))}/` +
    `${mib(new RegExp(`^natplan_nodejs_heap_space_size_total_bytes\\{space="${name}"\\} (\\S+)$`, 'm'))}`;
  return `used/total MiB: heap ${mib(/^natplan_nodejs_heap_size_used_bytes (\S+)$/m)}/${mib(/^natplan_nodejs_heap_size_total_bytes (\S+)$/m)}, ` +
    `${['new', 'old', 'code', 'large_object'].map(space).join(', ')}; external ${mib(/^natplan_nodejs_external_memory_bytes (\S+)$/m)}`;
}

const firstPlanNote = (s: number) => `operator's first plan ${s.toFixed(1)} s (process start to every ServiceNatPlan written)`;

interface SizeContext {
  n: number;
  requester: Requester;
  topology: Topology;
  apiPort: number;
  apiSocket: string;
  lastClusterIP: string;
  targets: string[];
  /** Seconds from `started` until the last Service answers; fails early if `dead()` says the dataplane died. */
  firstConnect(node: BenchNode, started: number, dead: () => string | undefined): Promise<number>;
}

async function benchSize(n: number): Promise<{ kp?: Figures; np: Figures }> {
  const cp = await startControlPlane();
  cleanups.push(() => cp.stop());
  const topology = await Topology.create();
  cleanups.push(() => topology.destroy());
  const socketDir = mkdtempSync(join(tmpdir(), 'natplan-bench-'));
  cleanups.push(async () => rmSync(socketDir, { recursive: true, force: true }));
  const apiSocket = join(socketDir, 'api.sock');
  const apiPort = Number(new URL(cp.server).port);
  const hostForward = startProcess('api-forward-host', process.execPath, [FORWARDER, apiSocket, `127.0.0.1:${apiPort}`], join(cp.dir, 'forward-host.log'));
  cleanups.push(() => hostForward.stop());
  const requester = kubeRequester(cp.kubeConfig);
  await createNode(requester, NODE, NODE_IP, '10.244.0.0/24');
  const t = Date.now();
  const clusterIPs = await createServices(requester, n);
  console.log(`\n## ${label(n)} Services x 10 endpoints (created in ${((Date.now() - t) / 1000).toFixed(1)} s; load average ${load()})`);
  const lastClusterIP = clusterIPs[n - 1]!;
  const ctx: SizeContext = {
    n, requester, topology, apiPort, apiSocket, lastClusterIP, targets: sample(clusterIPs),
    async firstConnect(node, started, dead) {
      const answered = node.firstConnect(lastClusterIP, COLD_DEADLINE_MS);
      for (;;) {
        const done = await Promise.race([answered.then((at) => at), sleep(1000).then(() => undefined)]);
        if (done !== undefined) return (done - started) / 1000;
        const why = dead();
        if (why) throw new Error(why.slice(-2000));
      }
    },
  };
  const kp = natplanOnly ? undefined : await kubeProxy(cp, ctx);
  if (kp) print('kube-proxy', kp);
  const np = await natplan(cp, ctx);
  print('natplan', np);
  await runCleanups();
  return { kp, np };
}

function print(name: string, f: Figures): void {
  const ms = (x: number) => (x < 10 ? x.toFixed(2) : x.toFixed(0));
  const mem = Object.entries(f.rss).map(([p, r]) => `${p} ${r ? `${r.now} MiB (peak ${r.peak})` : '?'}`).join(', ');
  console.log(`${name.padEnd(10)} cold start ${f.coldS.toFixed(2)} s | change p50 ${ms(percentile(f.changesMs, 50))} ms, p99 ${ms(percentile(f.changesMs, 99))} ms (n=${f.changesMs.length}, max ${ms(Math.max(...f.changesMs))}) | ` +
    `connect p50 ${ms(percentile(f.connect.samples, 50))} ms, p99 ${ms(percentile(f.connect.samples, 99))} ms (n=${f.connect.samples.length}, failed ${f.connect.failures}) | RSS ${mem}`);
  if (f.note) console.log(`${''.padEnd(10)} ${f.note}`);
}

async function main(): Promise<void> {
  console.log(`# natplan vs kube-proxy nftables (${new Date().toISOString()}, natplan on ${NATPLAN_NODE}${smoke ? ', --smoke' : ''}; load average ${load()})`);
  const before = await hostRuleset();
  if (!smoke) console.log(`# natplan compiled into dist/ in ${compileNatplan().toFixed(1)} s`);
  let failed = false;
  const interrupted = () => { console.error('interrupted: cleaning up'); void runCleanups().finally(() => process.exit(130)); };
  process.once('SIGINT', interrupted);
  process.once('SIGTERM', interrupted);
  const results = new Map<number, { kp?: Figures; np: Figures }>();
  try {
    for (const n of SIZES) results.set(n, await benchSize(n));
  } catch (err) {
    failed = true;
    console.error(err);
  } finally {
    await runCleanups();
  }
  await assertHostRulesetUnchanged(before);
  console.log('# the machine\'s own ruleset (nft, iptables, ip6tables) is unchanged');
  if (failed) process.exit(1);
  if (natplanOnly) return;
  const at = SIZES.includes(10_000) ? 10_000 : SIZES[SIZES.length - 1]!;
  const r = results.get(at)!;
  if (!r.kp) return;
  const ratio = (a: number, b: number) => `${(a / b).toFixed(2)}×`;
  console.log('# natplan / kube-proxy: cold start, change p50, agent RSS (steady) against kube-proxy RSS (steady)');
  console.log(`vs kube-proxy @${label(at)}: cold ${ratio(r.np.coldS, r.kp.coldS)}, change ${ratio(percentile(r.np.changesMs, 50), percentile(r.kp.changesMs, 50))}, ` +
    `rss ${ratio(r.np.rss.agent?.now ?? NaN, r.kp.rss['kube-proxy']?.now ?? NaN)}`);
}

await main();
