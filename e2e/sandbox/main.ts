/**
 * The sandbox: natplan on one machine, driven only through the Kubernetes API.
 * Boots a real control plane, installs the CRDs, applies the example objects and prints
 * what a user sees with kubectl. `--keep` leaves it running and says how to stop it.
 */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { kubectl, saveState, startControlPlane } from '../control-plane/index.js';
import { examplesDir } from '../../crds/validation/cases.js';

const keep = process.argv.includes('--keep');
const started = performance.now();
const dir = keep ? '/tmp/natplan-sandbox' : undefined;
const cp = await startControlPlane({ dir, detached: keep, keepDir: keep });
const k = async (...args: string[]) => {
  const r = await kubectl(cp.kubeconfigPath, args);
  if (r.code !== 0) throw new Error(`kubectl ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
};
try {
  for (const ns of ['shop', 'games']) await k('create', 'namespace', ns);
  for (const file of readdirSync(examplesDir).sort()) await k('apply', '--server-side', '-f', join(examplesDir, file));
  for (const what of [['nodenatplans'], ['servicenatplans', '-A'], ['natexposurepolicies', '-A']]) {
    console.log(`\n$ kubectl get ${what.join(' ')}\n${await k('get', ...what)}`);
  }
  console.log(`sandbox ready in ${((performance.now() - started) / 1000).toFixed(1)} s`);
  if (keep) {
    saveState(cp);
    console.log(`left running:\n  export KUBECONFIG=${cp.kubeconfigPath}\n  stop: npm run control-plane -- stop --dir ${cp.dir}`);
  }
} finally {
  if (!keep) await cp.stop();
}
