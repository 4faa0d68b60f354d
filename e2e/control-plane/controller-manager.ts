/**
 * The real kube-controller-manager against a test control plane, with only the
 * controllers an end-to-end natplan test needs: the EndpointSlice controller turns Pods
 * (marked Ready by the test, as a kubelet would) into EndpointSlices exactly as in a
 * cluster, and the service-account controller creates each namespace's `default` account.
 */
import { join } from 'node:path';
import { binaryPath } from './binaries.js';
import type { ControlPlane } from './control-plane.js';
import { freePort } from './control-plane.js';
import { startProcess, type ManagedProcess } from './processes.js';

export const CONTROLLERS = ['endpointslice', 'endpointslicemirroring', 'serviceaccount', 'garbagecollector', 'namespace'];

/**
 * `controllers`: e.g. ['*'] for a cluster with a real node (DaemonSets, Deployments, Jobs, ServiceAccount tokens).
 * `serviceAccountCredentials`: each controller authenticates as its own ServiceAccount in
 * kube-system (e.g. generic-garbage-collector), as kubeadm clusters run it, instead of as
 * the admin; admission tests need the identities a real cluster's controllers have.
 */
export async function startControllerManager(cp: ControlPlane, options: { detached?: boolean; controllers?: string[]; serviceAccountCredentials?: boolean } = {}): Promise<ManagedProcess> {
  const port = await freePort();
  const kcm = startProcess('kube-controller-manager', binaryPath('kube-controller-manager'), [
    `--kubeconfig=${cp.kubeconfigPath}`,
    `--authentication-kubeconfig=${cp.kubeconfigPath}`,
    `--authorization-kubeconfig=${cp.kubeconfigPath}`,
    `--controllers=${(options.controllers ?? CONTROLLERS).join(',')}`,
    '--leader-elect=false',
    '--bind-address=127.0.0.1', `--secure-port=${port}`,
    `--cert-dir=${join(cp.dir, 'kcm-certs')}`,
    // Publish endpoint changes at once: the default batches them for up to a second.
    '--endpointslice-updates-batch-period=0s',
    '--concurrent-service-endpoint-syncs=5',
    // For the root-CA ConfigMap publisher and the ServiceAccount token controller, when enabled.
    `--root-ca-file=${cp.certificates.caCert}`, `--service-account-private-key-file=${cp.certificates.serviceAccountKey}`,
    ...(options.serviceAccountCredentials ? ['--use-service-account-credentials=true'] : []),
    '--v=1',
  ], join(cp.dir, 'kube-controller-manager.log'), { detached: options.detached });
  cp.processes.push(kcm);
  return kcm;
}
