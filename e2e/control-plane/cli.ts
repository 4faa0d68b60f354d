/**
 * Start and stop a control plane by hand:
 *   npm run control-plane -- start [--dir DIR]   etcd + kube-apiserver + natplan CRDs, left running
 *   npm run control-plane -- status [--dir DIR]
 *   npm run control-plane -- stop [--dir DIR]    kills both and removes DIR
 * DIR defaults to /tmp/natplan-control-plane; it holds the kubeconfig, certificates and logs.
 */
import { rmSync } from 'node:fs';
import { startControlPlane } from './control-plane.js';
import { readState, saveState, type State } from './state.js';


const args = process.argv.slice(2);
const command = args[0];
const dirFlag = args.indexOf('--dir');
const dir = dirFlag >= 0 && args[dirFlag + 1] ? args[dirFlag + 1]! : '/tmp/natplan-control-plane';

const alive = (pid: number) => { try { process.kill(pid, 0); return true; } catch { return false; } };

function printUsage(state: State): void {
  console.log(`control plane at ${state.server}
  export KUBECONFIG=${state.kubeconfigPath}
  kubectl get crds            # kubectl: ~/.cache/natplan/kubectl-v34/kubectl
  logs: ${dir}/*.log
  stop: npm run control-plane -- stop --dir ${dir}`);
}

async function stop(): Promise<void> {
  const state = readState(dir);
  for (const { pid } of state?.pids ?? []) if (alive(pid)) process.kill(pid, 'SIGTERM');
  const deadline = Date.now() + 15_000;
  while ((state?.pids ?? []).some(({ pid }) => alive(pid)) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  for (const { pid } of state?.pids ?? []) if (alive(pid)) process.kill(pid, 'SIGKILL');
  rmSync(dir, { recursive: true, force: true });
  console.log(state ? `stopped the control plane in ${dir}` : `nothing running in ${dir}`);
}

switch (command) {
  case 'start': {
    const existing = readState(dir);
    if (existing && existing.pids.every(({ pid }) => alive(pid))) { printUsage(existing); break; }
    if (existing) await stop();
    const cp = await startControlPlane({ dir, detached: true, keepDir: true });
    printUsage(saveState(cp));
    break;
  }
  case 'status': {
    const state = readState(dir);
    if (!state) { console.log(`no control plane in ${dir}`); process.exitCode = 1; break; }
    for (const { name, pid } of state.pids) console.log(`${name} pid ${pid}: ${alive(pid) ? 'running' : 'gone'}`);
    printUsage(state);
    break;
  }
  case 'stop':
    await stop();
    break;
  default:
    console.error('usage: npm run control-plane -- start|status|stop [--dir DIR]');
    process.exitCode = 2;
}
