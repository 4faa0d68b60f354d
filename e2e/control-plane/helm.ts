/** Runs the real helm against a test control plane. */
import { execFile } from 'node:child_process';
import { binaryPath } from './binaries.js';
import type { KubectlResult } from './kubectl.js';

export function helm(kubeconfigPath: string, args: string[]): Promise<KubectlResult> {
  return new Promise((resolve) => {
    execFile(binaryPath('helm'), ['--kubeconfig', kubeconfigPath, ...args], { timeout: 120_000 }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr });
    });
  });
}
