/** Runs the real kubectl against a test control plane (output is what a user would see). */
import { execFile } from 'node:child_process';
import { binaryPath } from './binaries.js';

export interface KubectlResult { code: number; stdout: string; stderr: string }

export function kubectl(kubeconfigPath: string, args: string[], input?: string): Promise<KubectlResult> {
  return new Promise((resolve) => {
    const child = execFile(binaryPath('kubectl'), ['--kubeconfig', kubeconfigPath, ...args], { timeout: 60_000 }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
      resolve({ code, stdout, stderr });
    });
    if (input !== undefined) child.stdin?.end(input);
  });
}
