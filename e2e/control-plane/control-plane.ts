/**
 * A real Kubernetes control plane for tests, in the manner of controller-runtime's envtest:
 * etcd and kube-apiserver as processes on loopback, generated certificates, an admin
 * kubeconfig, and natplan's CRDs installed and served. `stop()` tears everything down; a
 * process exit hook kills the children if a test dies before its teardown.
 */
import { mkdtempSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';
import { binaryPath } from './binaries.js';
import { generateCertificates, type Certificates } from './certs.js';
import { installCrds } from './crds.js';
import { startProcess, type ManagedProcess } from './processes.js';
import { waitFor } from './wait.js';

export interface ControlPlaneOptions {
  /** Working directory (certificates, etcd data, logs); a fresh temp dir by default. */
  dir?: string;
  /** Install natplan's CRDs from crds/ (default true). */
  installCrds?: boolean;
  /** Start processes detached so they outlive this process (the CLI's `start`). */
  detached?: boolean;
  /** Keep the working directory on stop (logs for a failed CI run). */
  keepDir?: boolean;
  /** Extra kube-apiserver flags, e.g. an admission configuration a test needs. */
  apiServerArgs?: string[];
  /** Extra IP addresses the serving certificate covers (where a test node reaches the API server). */
  serverAddresses?: string[];
}

export interface ControlPlane {
  dir: string;
  server: string;
  kubeconfigPath: string;
  kubeConfig: KubeConfig;
  certificates: Certificates;
  processes: ManagedProcess[];
  stop(): Promise<void>;
}

/** Service ClusterIP range of the test API server (see the test address comment in e2e/netns). */
export const SERVICE_CIDR = '10.96.0.0/16';

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const address = srv.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

export async function startControlPlane(options: ControlPlaneOptions = {}): Promise<ControlPlane> {
  const dir = options.dir ?? mkdtempSync(join(tmpdir(), 'natplan-cp-'));
  mkdirSync(join(dir, 'certs'), { recursive: true });
  const certificates = generateCertificates(join(dir, 'certs'), options.serverAddresses);
  const processes: ManagedProcess[] = [];
  const stop = async () => {
    for (const p of [...processes].reverse()) await p.stop();
    if (!options.keepDir) rmSync(dir, { recursive: true, force: true });
  };
  try {
    const etcdPort = await freePort();
    const peerPort = await freePort();
    const etcd = startProcess('etcd', binaryPath('etcd'), [
      '--name=natplan-test', `--data-dir=${join(dir, 'etcd')}`,
      `--listen-client-urls=http://127.0.0.1:${etcdPort}`, `--advertise-client-urls=http://127.0.0.1:${etcdPort}`,
      `--listen-peer-urls=http://127.0.0.1:${peerPort}`, `--initial-advertise-peer-urls=http://127.0.0.1:${peerPort}`,
      `--initial-cluster=natplan-test=http://127.0.0.1:${peerPort}`,
      // Test data is thrown away: skipping fsync makes every API write several times faster.
      '--unsafe-no-fsync', '--log-level=warn',
    ], join(dir, 'etcd.log'), { detached: options.detached });
    processes.push(etcd);

    const apiPort = await freePort();
    const apiserver = startProcess('kube-apiserver', binaryPath('kube-apiserver'), [
      `--etcd-servers=http://127.0.0.1:${etcdPort}`,
      '--bind-address=127.0.0.1', `--secure-port=${apiPort}`, '--advertise-address=127.0.0.1',
      `--tls-cert-file=${certificates.serverCert}`, `--tls-private-key-file=${certificates.serverKey}`,
      `--client-ca-file=${certificates.caCert}`,
      '--service-account-issuer=https://kubernetes.default.svc.cluster.local',
      `--service-account-key-file=${certificates.serviceAccountPub}`,
      `--service-account-signing-key-file=${certificates.serviceAccountKey}`,
      `--service-cluster-ip-range=${SERVICE_CIDR}`,
      '--authorization-mode=RBAC', '--allow-privileged=true',
      // The only address is loopback, which the "kubernetes" Endpoints may not hold.
      '--endpoint-reconciler-type=none',
      `--cert-dir=${join(dir, 'apiserver-certs')}`,
      '--v=1',
      ...(options.apiServerArgs ?? []),
    ], join(dir, 'kube-apiserver.log'), { detached: options.detached });
    processes.push(apiserver);

    const server = `https://127.0.0.1:${apiPort}`;
    await waitFor('kube-apiserver /readyz', async () => {
      for (const p of processes) {
        if (p.child.exitCode !== null) throw new Error(`${p.name} exited with ${p.child.exitCode}:\n${p.tail()}`);
      }
      return (await httpsGet(`${server}/readyz`, certificates)) === 200 ? true : undefined;
    }, 90_000, 200);

    const kubeconfigPath = join(dir, 'kubeconfig');
    writeFileSync(kubeconfigPath, kubeconfigYaml(server, certificates));
    const kubeConfig = new KubeConfig();
    kubeConfig.loadFromFile(kubeconfigPath);
    if (options.installCrds ?? true) await installCrds(kubeConfig);
    return { dir, server, kubeconfigPath, kubeConfig, certificates, processes, stop };
  } catch (err) {
    const logs = processes.map((p) => `--- ${p.name} (${p.logFile})\n${p.tail(15)}`).join('\n');
    await stop().catch(() => undefined);
    throw new Error(`control plane did not start: ${err instanceof Error ? err.message : String(err)}\n${logs}`, { cause: err });
  }
}

/** An admin kubeconfig for `server` (e.g. the address a test node reaches the API server at). */
export function kubeconfigYaml(server: string, c: Certificates): string {
  return `apiVersion: v1
kind: Config
clusters:
- name: natplan-test
  cluster: {server: "${server}", certificate-authority: "${c.caCert}"}
users:
- name: admin
  user: {client-certificate: "${c.adminCert}", client-key: "${c.adminKey}"}
contexts:
- name: natplan-test
  context: {cluster: natplan-test, user: admin}
current-context: natplan-test
`;
}

function httpsGet(url: string, c: Certificates): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(url, { ca: readFileSync(c.caCert), cert: readFileSync(c.adminCert), key: readFileSync(c.adminKey), timeout: 2000 }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('error', reject);
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.end();
  });
}
