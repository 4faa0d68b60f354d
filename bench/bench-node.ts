/**
 * A node for bench/vs-kube-proxy.ts, made of network namespaces this process creates
 * (e2e/netns): the node, where a dataplane runs, and one "pods" namespace behind it that
 * holds every endpoint address (10.244.0.0/14 is local there, AnyIP) with one TCP
 * listener on 8080, so any cluster IP the dataplane translates gets a real handshake.
 * The node reaches the API server on the host's loopback through a forwarder pair
 * (namespace 127.0.0.1:port -> unix socket -> host 127.0.0.1:port, e2e/real-node's
 * forward.mjs), so the control plane's kubeconfig works unchanged inside it.
 */
import { get } from 'node:http';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { POD_RANGE } from './kube-objects.js';
import { startEcho, type Host, type NetnsProcess, type Topology } from '@natplan/e2e/netns';

const FORWARDER = fileURLToPath(new URL('../e2e/real-node/forward.mjs', import.meta.url));
const CONNECT = fileURLToPath(new URL('./netns-connect.mjs', import.meta.url));

/** Node addresses from the test range 172.18.0.0/16: the node, its pods' side of the link. */
export const NODE_IP = '172.18.0.1';
const PODS_IP = '172.18.0.2';

export interface BenchNode {
  readonly node: Host;
  /** Deletes both namespaces (and whatever still runs in them). */
  remove(): Promise<void>;
  /** Resolves with the wall-clock time a handshake to address:80 first succeeded, or rejects after `deadlineMs`. */
  firstConnect(address: string, deadlineMs: number): Promise<number>;
  /** Handshake times (ms) of `count` sequential connects cycling over `addresses` (port 80). */
  connectLatencies(addresses: readonly string[], count: number): Promise<{ samples: number[]; failures: number }>;
  /**
   * Waits until the dataplane's own `kubeproxy_network_programming_duration_seconds_count`
   * (kube-proxy's; natplan's agent serves it under the same name) exceeds `count`, i.e. a
   * sync programmed the change, and returns the time from `writtenAt` to the end of that
   * sync (`kubeproxy_sync_proxy_rules_last_timestamp_seconds`, set once the kernel took
   * the transaction). Scraped every 20 ms through a unix socket into the namespace.
   */
  programmed(count: number, writtenAt: number, timeoutMs: number): Promise<number>;
  programmingCount(): Promise<number>;
  /** The dataplane's /metrics text. */
  scrape(): Promise<string>;
  /** Waits until the dataplane's first sync has ended (`..._last_timestamp_seconds` is set). */
  firstSyncEnded(timeoutMs: number): Promise<void>;
}

/** `metricsPort`: where the dataplane serves /metrics on the node's loopback. */
/** A sample of the IPv4 proxier (label ip_family="IPv4"), or the unlabelled one. */
function metric(text: string, name: string): number {
  return Number(new RegExp(`^${name}(?:\\{ip_family="IPv4"\\})? (\\S+)$`, 'm').exec(text)?.[1] ?? NaN);
}

export async function addBenchNode(topology: Topology, name: string, apiPort: number, apiSocket: string, metricsPort: number): Promise<BenchNode> {
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
  // The other way round for the dataplane's /metrics: unix socket -> namespace loopback.
  const metricsSocket = join(dirname(apiSocket), `metrics-${name}.sock`);
  const metrics = node.spawn([process.execPath, FORWARDER, metricsSocket, `127.0.0.1:${metricsPort}`]);
  await metrics.waitFor(/^forwarding/);
  const scrape = () => new Promise<string>((resolve, reject) => {
    const req = get({ socketPath: metricsSocket, path: '/metrics', timeout: 5000 }, (res) => {
      let body = '';
      res.on('data', (chunk: Buffer) => { body += chunk.toString('utf8'); });
      res.on('end', () => resolve(body));
    });
    req.on('error', reject);
    req.on('timeout', () => req.destroy(new Error('metrics scrape timed out')));
  });

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
    async programmed(count, writtenAt, timeoutMs) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const text = await scrape().catch(() => '');
        const value = (name: string) => metric(text, name);
        if (value('kubeproxy_network_programming_duration_seconds_count') > count) {
          return value('kubeproxy_sync_proxy_rules_last_timestamp_seconds') * 1000 - writtenAt;
        }
        if (Date.now() > deadline) throw new Error(`no sync programmed the change within ${timeoutMs} ms: ${text.split('\n').filter((l) => /programming_duration_seconds_count|last_timestamp/.test(l)).join('; ') || text.slice(0, 300)}`);
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    },
    async firstSyncEnded(timeoutMs) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const last = metric(await scrape().catch(() => ''), 'kubeproxy_sync_proxy_rules_last_timestamp_seconds');
        if (Number.isFinite(last) && last > 0) return;
        if (Date.now() > deadline) throw new Error(`the first sync did not end within ${timeoutMs} ms`);
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    },
    async programmingCount() {
      // No sample before the first observation.
      return metric(await scrape(), 'kubeproxy_network_programming_duration_seconds_count') || 0;
    },
    scrape,
  };
}
