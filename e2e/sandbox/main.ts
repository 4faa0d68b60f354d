/**
 * The sandbox: natplan on one machine, tried as a user would.
 *   npm run sandbox              boot, show, tear down (nothing is left behind)
 *   npm run sandbox -- --keep    boot, show, leave it running in the background
 *   npm run sandbox -- --stop    stop a kept sandbox and remove everything
 * A real control plane (kube-apiserver, etcd, kube-controller-manager), the operator, two
 * nodes as network namespaces with an agent each (node-b behind a NAT gateway running
 * miniupnpd), a sample workload and two exposure policies (one port forwarded by hand, one
 * the agent asks the gateway for); then `kubectl get` and requests through each frontend.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Cluster } from '../cluster/index.js';
import { demoRequests, deployWorkload } from './workload.js';

const DIR = '/tmp/natplan-sandbox';
const READY = join(DIR, 'ready.txt');
const PID = join(DIR, 'sandbox.pid');
const LOG = join(DIR, 'sandbox.log');
const args = process.argv.slice(2);

async function show(): Promise<{ cluster: Cluster; report: string }> {
  const started = performance.now();
  const cluster = await Cluster.start({ nodes: 2, gateway: 'miniupnpd', dir: args.includes('--serve') ? join(DIR, 'control-plane') : undefined });
  try {
    const workload = await deployWorkload(cluster);
    const demos = await demoRequests(cluster, workload);
    // Let the agents' rate-limited status catch up so the counts shown are current.
    await new Promise((r) => setTimeout(r, 5500));
    const lines: string[] = [];
    for (const what of [['nodenatplans'], ['servicenatplans', '-A'], ['natexposuregrants'], ['natexposurepolicies', '-A'], ['natexposurepolicy', 'web-public', '-n', 'demo', '-o', 'jsonpath={.status.publicEndpoints}'],
      ['natexposurepolicy', 'web-mapped', '-n', 'demo', '-o', 'jsonpath={.status.publicEndpoints}'],
      ['nodenatplan', 'node-b', '-o', 'jsonpath={.status.gatewayMappings}']]) {
      lines.push(`$ kubectl get ${what.join(' ')}`, (await cluster.kubectl('get', ...what)).stdout.trimEnd(), '');
    }
    lines.push('Requests (10 each), answered by:');
    for (const d of demos) lines.push(`  ${d.frontend.padEnd(60)} from ${d.from.padEnd(44)} ${JSON.stringify(d.answers)}`);
    lines.push('', `sandbox ready in ${((performance.now() - started) / 1000).toFixed(1)} s`);
    return { cluster, report: lines.join('\n') };
  } catch (err) {
    await cluster.stop();
    throw err;
  }
}

async function stopKept(): Promise<void> {
  const pid = existsSync(PID) ? Number(readFileSync(PID, 'utf8')) : undefined;
  if (pid) {
    try { process.kill(pid, 'SIGTERM'); } catch { /* already gone */ }
    for (let i = 0; i < 300; i++) {
      try { process.kill(pid, 0); } catch { break; }
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  rmSync(DIR, { recursive: true, force: true });
  console.log(pid ? 'sandbox stopped; nothing left behind' : 'no sandbox running');
}

if (args.includes('--stop')) {
  await stopKept();
} else if (args.includes('--serve')) {
  // The background half of --keep: serve until SIGTERM, then tear everything down.
  const { cluster, report } = await show();
  writeFileSync(READY, report);
  process.once('SIGTERM', () => void cluster.stop().finally(() => process.exit(0)));
  setInterval(() => {}, 1 << 30);
} else if (args.includes('--keep')) {
  if (existsSync(PID)) await stopKept();
  mkdirSync(DIR, { recursive: true });
  const log = openSync(LOG, 'w');
  const child = spawn(process.execPath, [...process.execArgv, fileURLToPath(import.meta.url), '--serve'], { detached: true, stdio: ['ignore', log, log] });
  writeFileSync(PID, String(child.pid));
  child.unref();
  for (;;) {
    if (existsSync(READY)) break;
    if (child.exitCode !== null) { console.error(`sandbox failed; see ${LOG}:\n${readFileSync(LOG, 'utf8').slice(-3000)}`); process.exit(1); }
    await new Promise((r) => setTimeout(r, 200));
  }
  console.log(readFileSync(READY, 'utf8'));
  console.log(`\nleft running (pid ${child.pid}):\n  export KUBECONFIG=${join(DIR, 'control-plane', 'kubeconfig')}\n  ~/.cache/natplan/kubectl-v34/kubectl get nodenatplans\n  stop: npm run sandbox -- --stop`);
  process.exit(0);
} else {
  const { cluster, report } = await show();
  console.log(report);
  await cluster.stop();
}
