/**
 * natplan's processes as the benchmarks against a real API server start them: compiled
 * (`tsc -b tsconfig.build.json` into each package's dist/, as in the image) for real sizes, so that
 * TypeScript loading counts neither in start times nor in RSS; through tsx in --smoke,
 * which only proves a benchmark runs (and saves the compile).
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Requester } from '@natplan/controller-kit';
import type { ControlPlane } from '@natplan/e2e/control-plane';
import { startProcess, type ManagedProcess } from '@natplan/e2e/control-plane';
import { countObjects, POD_RANGE } from './kube-objects.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

/**
 * The node binary natplan's processes run on: the image's pinned runtime
 * (tools/image/node-runtime.sh, Node 24, cached after the first fetch) for real sizes,
 * since its V8 decides the heap's size and the GC's timing; this process's node in --smoke.
 */
export function natplanNode(compiled: boolean): string {
  if (!compiled) return process.execPath;
  const dir = execFileSync('bash', [join(ROOT, 'tools/image/node-runtime.sh')], { encoding: 'utf8' }).trim();
  return join(dir, 'bin/node');
}

/** node arguments that run `natplan <command>`: compiled, with the image's node options (tools/image/node-options). */
export function natplanArgv(compiled: boolean): string[] {
  if (!compiled) return ['--import', 'tsx', join(ROOT, 'bin/natplan.ts')];
  return [...readFileSync(join(ROOT, 'tools/image/node-options'), 'utf8').trim().split(/\s+/), join(ROOT, 'dist/bin/natplan.js')];
}

/** Compiles natplan into dist/ (the sources as they are now); returns the seconds it took. */
export function compileNatplan(): number {
  const t = Date.now();
  execFileSync(process.execPath, [join(ROOT, 'node_modules/typescript/bin/tsc'), '-b', join(ROOT, 'tsconfig.build.json')], { stdio: 'inherit' });
  return (Date.now() - t) / 1000;
}

/** The operator as its own process (leader election off), its log in the control plane's directory. */
export function startOperatorProcess(cp: ControlPlane, compiled: boolean, logLevel = 'warn'): ManagedProcess {
  return startProcess('natplan-operator', natplanNode(compiled), [
    ...natplanArgv(compiled), 'operator', `--kubeconfig=${cp.kubeconfigPath}`, '--leader-elect=false', '--metrics-address=127.0.0.1:0',
    `--cluster-cidrs=${POD_RANGE}`, `--log-level=${logLevel}`,
  ], join(cp.dir, 'operator.log'));
}

/**
 * Waits until every Service (default/kubernetes too) has a ServiceNatPlan and every node
 * its NodeNatPlan; returns the seconds since `since` (Date.now() milliseconds).
 */
export async function waitForPlans(requester: Requester, operator: ManagedProcess, services: number, nodes: number, since: number): Promise<number> {
  for (;;) {
    if (operator.child.exitCode !== null) throw new Error(`the operator exited:\n${operator.tail()}`);
    const plans = await countObjects(requester, '/apis/natplan.io/v1alpha1/servicenatplans');
    const nodePlans = await countObjects(requester, '/apis/natplan.io/v1alpha1/nodenatplans');
    if (plans >= services + 1 && nodePlans >= nodes) return (Date.now() - since) / 1000;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}
