/**
 * A real Kubernetes node for end-to-end tests: containerd and the kubelet in a network
 * namespace of their own with a private mount namespace (node.sh), joined to a test
 * control plane (with startScheduler() here and startControllerManager(cp,
 * { controllers: ['*'] }) for DaemonSets, Deployments, Jobs and ServiceAccount tokens).
 * Nothing touches the machine's own network, mounts or sysctls; `stop()` kills every
 * process the node started (containers included), removes its cgroups, its namespace
 * and its directory, also after a failure.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { binaryPath, freePort, kubeconfigYaml, kubectl, waitFor, type ControlPlane } from '../control-plane/index.js';
import { startProcess, type ManagedProcess } from '../control-plane/processes.js';
import { newRunPrefix, removeNamespace, sweepStaleNamespaces } from '../netns/names.js';
import { cgroupPids, createCgroupRoot, removeCgroupRoot, staleCgroupRoots } from './cgroups.js';

const here = dirname(fileURLToPath(import.meta.url));
const CGROUP_PREFIX = 'natplan-e2e-node-';
/** The node's address (test node range of e2e/netns) and its pods' range. */
export const NODE_IP = '172.18.0.2';
export const POD_CIDR = '10.244.1.0/24';
/** The port the API server is reached at from the node's namespace (and its pods, via the node address). */
export const NODE_API_PORT = 6443;

export interface RealNodeOptions {
  name?: string;
  /** OCI archives imported into containerd before the kubelet starts. */
  images: string[];
  /** The pod sandbox image (one of `images`). */
  sandboxImage: string;
}

export interface RealNode {
  name: string;
  ip: string;
  /** Network namespace name (under /run/netns). */
  namespace: string;
  dir: string;
  /** The directory of container logs (`kubectl logs` cannot reach this kubelet). */
  podLogsDir: string;
  /** Runs a command in the node's network namespace (not its mount namespace). */
  run(argv: string[]): string;
  stop(): Promise<void>;
}

const sh = (argv: string[]): string => execFileSync(argv[0] as string, argv.slice(1), { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });

function processesIn(mountNamespace: string): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try { if (readlinkSync(`/proc/${entry}/ns/mnt`) === mountNamespace) pids.push(Number(entry)); } catch { /* exited */ }
  }
  return pids;
}

function killAll(pids: number[]): void {
  for (const pid of pids) {
    try { process.kill(pid, 'SIGKILL'); } catch { /* exited */ }
  }
}

/** Removes what a crashed earlier run left: its cgroup roots and the processes in them (the whole node). */
export async function sweepStaleNodes(): Promise<void> {
  for (const name of staleCgroupRoots(CGROUP_PREFIX)) {
    killAll(cgroupPids(name));
    await waitFor(`stale node ${name} gone`, async () => (cgroupPids(name).length === 0 ? true : undefined), 10_000, 100).catch(() => undefined);
    removeCgroupRoot(name);
  }
  await sweepStaleNamespaces();
}

export async function startScheduler(cp: ControlPlane): Promise<ManagedProcess> {
  const port = await freePort();
  const scheduler = startProcess('kube-scheduler', binaryPath('kube-scheduler'), [
    `--kubeconfig=${cp.kubeconfigPath}`, `--authentication-kubeconfig=${cp.kubeconfigPath}`, `--authorization-kubeconfig=${cp.kubeconfigPath}`,
    '--leader-elect=false', '--bind-address=127.0.0.1', `--secure-port=${port}`, '--v=1',
  ], join(cp.dir, 'kube-scheduler.log'));
  cp.processes.push(scheduler);
  return scheduler;
}

export async function startRealNode(cp: ControlPlane, options: RealNodeOptions): Promise<RealNode> {
  await sweepStaleNodes();
  const name = options.name ?? 'node-1';
  const dir = mkdtempSync(join(tmpdir(), 'natplan-node-'));
  const namespace = `${newRunPrefix()}knode`;
  const cgroupRoot = `${CGROUP_PREFIX}${process.pid}-${Date.now()}`;
  const processes: ManagedProcess[] = [];
  let mountNamespace: string | undefined;
  const inNode = (argv: string[]) => sh(['ip', 'netns', 'exec', namespace, ...argv]);

  const stop = async () => {
    // The node is thrown away: kill it whole, no graceful stop. Every process it started
    // (node.sh, containerd, its shims, the kubelet, the containers) is in the cgroup root;
    // the mount namespace check catches one that escaped it.
    await waitFor('the node\'s processes to exit', async () => {
      const left = [...cgroupPids(cgroupRoot), ...(mountNamespace ? processesIn(mountNamespace) : [])];
      killAll(left);
      return left.length === 0 ? true : undefined;
    }, 30_000, 100).catch(() => undefined);
    const cgroupsLeft = await waitFor('the node\'s cgroups to go', async () => {
      const left = removeCgroupRoot(cgroupRoot);
      return left.length === 0 ? left : undefined;
    }, 10_000, 100).catch(() => removeCgroupRoot(cgroupRoot));
    for (const p of [...processes].reverse()) await p.stop();
    await removeNamespace(namespace);
    // The mounts lived in the node's mount namespace; none may remain on the host.
    const mounts = readFileSync('/proc/self/mounts', 'utf8').split('\n').filter((l) => l.includes(dir));
    if (mounts.length === 0) rmSync(dir, { recursive: true, force: true });
    if (cgroupsLeft.length > 0 || mounts.length > 0) {
      throw new Error(`node teardown left cgroups ${cgroupsLeft.join(', ')} / mounts ${mounts.join('; ')}`);
    }
  };

  try {
    // The node's network: one address on a veth pair whose both ends are in the namespace
    // (this kernel has no dummy links), a default route the kubelet picks its address by.
    sh(['ip', 'netns', 'add', namespace]);
    inNode(['ip', 'link', 'set', 'lo', 'up']);
    inNode(['ip', 'link', 'add', 'node0', 'type', 'veth', 'peer', 'name', 'node0p']);
    inNode(['ip', 'addr', 'add', `${NODE_IP}/24`, 'dev', 'node0']);
    inNode(['ip', 'link', 'set', 'node0', 'up']);
    inNode(['ip', 'link', 'set', 'node0p', 'up']);
    inNode(['ip', 'route', 'add', 'default', 'dev', 'node0']);
    inNode(['sysctl', '-qw', 'net.ipv4.ip_forward=1']);

    // API server: namespace 0.0.0.0:6443 -> unix socket -> host loopback.
    const socket = join(dir, 'api.sock');
    const apiPort = new URL(cp.server).port;
    const forwarder = join(here, 'forward.mjs');
    processes.push(startProcess('api-forward-host', process.execPath, [forwarder, socket, `127.0.0.1:${apiPort}`], join(dir, 'forward-host.log')));
    await waitFor('the host forwarder', async () => (existsSync(socket) ? true : undefined), 10_000);
    processes.push(startProcess('api-forward-node', 'nsenter', [`--net=/run/netns/${namespace}`, process.execPath, forwarder, `0.0.0.0:${NODE_API_PORT}`, socket], join(dir, 'forward-node.log')));

    const kubeconfig = join(dir, 'kubelet.kubeconfig');
    writeFileSync(kubeconfig, kubeconfigYaml(`https://127.0.0.1:${NODE_API_PORT}`, cp.certificates));
    writeFileSync(join(dir, 'images'), `${options.images.join('\n')}\n`);
    mkdirSync(join(dir, 'pod-logs'));
    createCgroupRoot(cgroupRoot);

    const node = startProcess('node', 'nsenter', [
      `--net=/run/netns/${namespace}`, 'unshare', '--mount', '--propagation', 'slave',
      'bash', join(here, 'node.sh'), dir, name, NODE_IP, POD_CIDR, `/${cgroupRoot}`, options.sandboxImage, kubeconfig,
    ], join(dir, 'node.log'), { env: { ...process.env, KUBELET: binaryPath('kubelet') } });
    processes.push(node);
    // nsenter and unshare exec: this pid is node.sh, the first process of the mount namespace.
    mountNamespace = await waitFor('the node\'s mount namespace', async () => {
      const ns = readlinkSync(`/proc/${node.pid}/ns/mnt`);
      return ns !== readlinkSync('/proc/self/ns/mnt') ? ns : undefined;
    }, 10_000, 20);

    await waitFor(`node ${name} Ready`, async () => {
      if (node.child.exitCode !== null) throw new Error(`node.sh exited with ${node.child.exitCode}`);
      const r = await kubectl(cp.kubeconfigPath, ['get', 'node', name, '-o', 'jsonpath={.status.conditions[?(@.type=="Ready")].status}']);
      return r.stdout === 'True' ? true : undefined;
    }, 120_000, 250);
    return { name, ip: NODE_IP, namespace, dir, podLogsDir: join(dir, 'pod-logs'), run: inNode, stop };
  } catch (err) {
    const tail = (file: string) => { try { return readFileSync(join(dir, file), 'utf8').trimEnd().split('\n').slice(-15).join('\n'); } catch { return '(none)'; } };
    const logs = ['node.log', 'containerd.log', 'kubelet.log'].map((f) => `--- ${f}\n${tail(f)}`).join('\n');
    await stop().catch(() => undefined);
    throw new Error(`node did not start: ${err instanceof Error ? err.message : String(err)}\n${logs}`, { cause: err });
  }
}
