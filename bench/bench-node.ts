/**
 * A node for bench/vs-kube-proxy.ts, made of network namespaces this process creates
 * (e2e/netns): the node, where a dataplane runs, and one "pods" namespace behind it that
 * holds every endpoint address (10.244.0.0/14 is local there, AnyIP) with one TCP
 * listener on 8080, so any cluster IP the dataplane translates gets a real handshake.
 * The node reaches the API server on the host's loopback through a forwarder pair
 * (namespace 127.0.0.1:port -> unix socket -> host 127.0.0.1:port, e2e/real-node's
 * forward.mjs), so the control plane's kubeconfig works unchanged inside it.
 */
import { fileURLToPath } from 'node:url';
import { POD_RANGE } from './kube-objects.js';
import { startEcho, type Host, type NetnsProcess, type Topology } from '../e2e/netns/index.js';

const FORWARDER = fileURLToPath(new URL('../e2e/real-node/forward.mjs', import.meta.url));
const CONNECT = fileURLToPath(new URL('./netns-connect.mjs', import.meta.url));

/** Node addresses from the test range 172.18.0.0/16: the node, its pods' side of the link. */
export const NODE_IP = '172.18.0.1';
const PODS_IP = '172.18.0.2';
/** A table (no chains, no hooks) whose one set the monitor's readiness check adds an element to and deletes it. */
const READY_TABLE = 'bench-monitor-ready';

export interface BenchNode {
  readonly node: Host;
  /** Deletes both namespaces (and whatever still runs in them). */
  remove(): Promise<void>;
  /** Resolves with the wall-clock time a handshake to address:80 first succeeded, or rejects after `deadlineMs`. */
  firstConnect(address: string, deadlineMs: number): Promise<number>;
  /** Handshake times (ms) of `count` sequential connects cycling over `addresses` (port 80). */
  connectLatencies(addresses: readonly string[], count: number): Promise<{ samples: number[]; failures: number }>;
  /** Follows `nft monitor` in the node: resolves when a committed change mentions `address`. */
  monitor(): Promise<KernelMonitor>;
}

export interface KernelMonitor {
  /** Wall-clock time at which a ruleset event naming `address` arrived (waits up to `timeoutMs`). */
  seen(address: string, timeoutMs: number): Promise<number>;
  stop(): void;
}

export async function addBenchNode(topology: Topology, name: string, apiPort: number, apiSocket: string): Promise<BenchNode> {
  const node = await topology.addHost(name, { router: true });
  const pods = await topology.addHost(`${name}-pods`);
  await node.ip('link', 'add', 'veth0', 'type', 'veth', 'peer', 'name', 'eth0', 'netns', pods.namespace);
  await node.ip('addr', 'add', `${NODE_IP}/24`, 'dev', 'veth0');
  await node.ip('link', 'set', 'veth0', 'up');
  await pods.ip('addr', 'add', `${PODS_IP}/24`, 'dev', 'eth0');
  await pods.ip('link', 'set', 'eth0', 'up');
  await pods.ip('route', 'add', 'default', 'via', NODE_IP);
  // Every endpoint address is local in the pods namespace, so one listener answers them all.
  await pods.ip('route', 'add', 'local', POD_RANGE, 'dev', 'lo');
  await node.ip('route', 'add', POD_RANGE, 'via', PODS_IP);
  // Cluster IPs need a route before the output hook translates them; untranslated ones die in the pods namespace.
  await node.ip('route', 'add', 'default', 'via', PODS_IP);
  await startEcho(pods, { tcp: [8080] }, 'pods');
  const forward: NetnsProcess = node.spawn([process.execPath, FORWARDER, `127.0.0.1:${apiPort}`, apiSocket]);
  await forward.waitFor(/^forwarding/);

  return {
    node,
    async remove() {
      await topology.removeHost(pods);
      await topology.removeHost(node);
    },
    async firstConnect(address, deadlineMs) {
      const { stdout } = await node.run([process.execPath, CONNECT, 'until', '--host', address, '--port', '80', '--deadline', String(deadlineMs)], { timeoutMs: deadlineMs + 30_000 });
      const match = /^ok (\d+)/.exec(stdout);
      if (!match) throw new Error(`${address}:80 did not answer within ${deadlineMs} ms`);
      return Number(match[1]);
    },
    async connectLatencies(addresses, count) {
      const { stdout } = await node.run([process.execPath, CONNECT, 'latency', '--hosts', addresses.join(','), '--port', '80', '--count', String(count)], { timeoutMs: 300_000 });
      return JSON.parse(stdout) as { samples: number[]; failures: number };
    },
    async monitor() {
      await node.run(['nft', '-f', '-'], { stdin: `add table ip ${READY_TABLE}\nadd set ip ${READY_TABLE} ready { type ipv4_addr; }\n` });
      const proc = node.spawn(['nft', 'monitor', 'ruleset']);
      const seenAt = new Map<string, number>();
      const waiters: { pattern: RegExp; resolve: (at: number) => void }[] = [];
      let partial = '';
      proc.child.stdout?.on('data', (chunk: Buffer) => {
        const at = Date.now();
        const lines = (partial + chunk.toString('utf8')).split('\n');
        partial = lines.pop() ?? '';
        for (const line of lines) {
          for (const w of [...waiters]) {
            if (w.pattern.test(line)) { waiters.splice(waiters.indexOf(w), 1); w.resolve(at); }
          }
          for (const m of line.matchAll(/\b10\.247\.25\d\.\d+\b/g)) if (!seenAt.has(m[0])) seenAt.set(m[0], at);
        }
      });
      // nft prints nothing when it is ready, and with a large ruleset it fills its cache
      // first (minutes beside kube-proxy at 10k), missing what is committed meanwhile: it
      // is ready once it reports an element added to a set of ours (a table event would
      // make nft 1.0.6 reload its whole cache).
      const deadline = Date.now() + 15 * 60_000;
      while (!proc.output().includes(READY_TABLE)) {
        if (Date.now() > deadline || proc.child.exitCode !== null) throw new Error(`nft monitor did not start: ${proc.output().slice(-500)}`);
        await node.run(['nft', '-f', '-'], { stdin: `add element ip ${READY_TABLE} ready { 127.0.0.1 }\ndelete element ip ${READY_TABLE} ready { 127.0.0.1 }\n` });
        await new Promise((resolve) => setTimeout(resolve, 5000));
      }
      return {
        seen(address, timeoutMs) {
          const already = seenAt.get(address);
          if (already !== undefined) return Promise.resolve(already);
          return new Promise<number>((resolve, reject) => {
            const pattern = new RegExp(`\\b${address.replace(/\./g, '\\.')}(?![0-9])`);
            const timer = setTimeout(() => reject(new Error(`no ruleset change naming ${address} within ${timeoutMs} ms`)), timeoutMs);
            waiters.push({ pattern, resolve: (at) => { clearTimeout(timer); resolve(at); } });
          });
        },
        stop: () => proc.kill(),
      };
    },
  };
}
