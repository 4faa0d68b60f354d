import { spawn, spawnSync } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { createExec } from '@natplan/node-agent/exec';
import type { Exec, ExecResult, RunOptions } from '@natplan/node-agent/exec';
import { newRunPrefix, removeNamespace, sweepStaleNamespaces } from './names.js';

// Test address ranges, fixed once for every netns test and benchmark:
//   cluster IPs        10.96.0.0/16, fd00:10:96::/108
//   pod IPs            10.244.0.0/16, fd00:10:244::/56 (node N: 10.244.N.0/24, fd00:10:244:N::/64)
//   node addresses     172.18.0.0/16, fd00:172:18::/64
//   external, load-balancer and client addresses
//                      192.0.2.0/24, 198.51.100.0/24, 203.0.113.0/24, 2001:db8::/32
// These addresses exist only inside namespaces the tests create; nothing leaves them.
// Every interface is created inside a test namespace (`ip -n`), never in the host's.

/** A process started inside a namespace; killed by the topology's teardown. */
export interface NetnsProcess {
  readonly child: ChildProcess;
  /** stdout so far (the servers and probes speak line by line). */
  output(): string;
  /** Resolves with the first stdout line matching `pattern`, rejects on exit or timeout. */
  waitFor(pattern: RegExp, timeoutMs?: number): Promise<string>;
  /** Resolves with all stdout once the process exits. */
  exited(): Promise<{ code: number | null; stdout: string; stderr: string }>;
  kill(): void;
}

/** A network namespace: a node, a client, a pod, a switch. */
export class Host {
  readonly exec: Exec;
  private interfaceCount = 0;

  constructor(readonly name: string, readonly namespace: string, private readonly topology: Topology) {
    this.exec = createExec({ netns: namespace });
  }

  run(argv: readonly string[], options?: RunOptions): Promise<ExecResult> {
    return this.exec.run(argv, options);
  }

  /** `ip ...` inside this namespace. */
  ip(...args: string[]): Promise<ExecResult> {
    return this.exec.run(['ip', ...args]);
  }

  sysctl(key: string, value: string | number): Promise<ExecResult> {
    return this.exec.run(['sysctl', '-qw', `${key}=${value}`]);
  }

  spawn(argv: readonly string[]): NetnsProcess {
    return this.topology.spawnIn(this, argv);
  }

  /** A fresh interface name, unique within this namespace (at most 15 characters). */
  nextInterface(prefix: string): string {
    this.interfaceCount += 1;
    return `${prefix}${this.interfaceCount}`;
  }
}

export interface HostOptions {
  /** Forward packets between interfaces (nodes, gateways). */
  readonly router?: boolean;
}

export interface PodOptions {
  /** The pod's addresses without prefix length, e.g. ['10.244.1.5']. */
  readonly addresses: readonly string[];
  /** The node-side gateway address per family, e.g. ['10.244.1.1']; added to the node end of the veth. */
  readonly gateways: readonly string[];
}

/**
 * Builds small topologies of namespaces joined by veth pairs, and tears them down, even
 * after a crash (the next run sweeps namespaces of dead pids). Generic on purpose: the
 * dataplane tests and the end-to-end cluster both build on it.
 */
export class Topology {
  readonly hosts: Host[] = [];
  private readonly processes: NetnsProcess[] = [];
  private readonly onExit = () => this.destroySync();

  private constructor(readonly prefix: string) {
    process.once('exit', this.onExit);
  }

  static async create(): Promise<Topology> {
    await sweepStaleNamespaces();
    return new Topology(newRunPrefix());
  }

  async addHost(name: string, options: HostOptions = {}): Promise<Host> {
    const host = new Host(name, `${this.prefix}${name}`, this);
    await createExec('host').run(['ip', 'netns', 'add', host.namespace]);
    this.hosts.push(host);
    await host.ip('link', 'set', 'lo', 'up');
    // Loose reverse-path filtering: NAT and asymmetric test routes must not be dropped
    // by rp_filter; the values are per namespace and vanish with it.
    await host.sysctl('net.ipv4.conf.all.rp_filter', 0);
    await host.sysctl('net.ipv4.conf.default.rp_filter', 0);
    if (options.router) {
      await host.sysctl('net.ipv4.ip_forward', 1);
      await host.sysctl('net.ipv6.conf.all.forwarding', 1);
    }
    return host;
  }

  /** A namespace holding one bridge: the L2 segment several hosts attach to. */
  async addSwitch(name: string): Promise<Host> {
    const sw = await this.addHost(name);
    await sw.ip('link', 'add', 'br0', 'type', 'bridge');
    await sw.ip('link', 'set', 'br0', 'up');
    return sw;
  }

  /** Plugs `host` into `sw` with a new interface carrying `addresses` (CIDR notation). */
  async attach(host: Host, sw: Host, addresses: readonly string[]): Promise<string> {
    const inside = host.nextInterface('eth');
    const port = sw.nextInterface('p');
    await host.ip('link', 'add', inside, 'type', 'veth', 'peer', 'name', port, 'netns', sw.namespace);
    await sw.ip('link', 'set', port, 'master', 'br0', 'up');
    for (const address of addresses) await host.ip('addr', 'add', address, 'dev', inside, ...nodad(address));
    await host.ip('link', 'set', inside, 'up');
    return inside;
  }

  /**
   * A pod: its own namespace behind `node` on a routed veth (no bridge, like Calico):
   * the pod holds /32 (/128) addresses and a default route to the gateway address the
   * node end carries; the node routes each pod address to its veth. Routing every pod
   * packet through the node's IP stack is what makes hairpin and NAT behave as on a
   * real node without br_netfilter.
   */
  async addPod(node: Host, name: string, options: PodOptions): Promise<Host> {
    const pod = await this.addHost(name);
    const nodeEnd = node.nextInterface('pod');
    await node.ip('link', 'add', nodeEnd, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', pod.namespace);
    for (const gateway of options.gateways) await node.ip('addr', 'add', hostPrefix(gateway), 'dev', nodeEnd, ...nodad(gateway));
    await node.ip('link', 'set', nodeEnd, 'up');
    for (const address of options.addresses) await pod.ip('addr', 'add', hostPrefix(address), 'dev', 'eth0', ...nodad(address));
    await pod.ip('link', 'set', 'eth0', 'up');
    for (const gateway of options.gateways) {
      await pod.ip('route', 'add', gateway, 'dev', 'eth0', 'scope', 'link');
      await pod.ip(...family(gateway), 'route', 'add', 'default', 'via', gateway, 'dev', 'eth0');
    }
    for (const address of options.addresses) await node.ip('route', 'add', address, 'dev', nodeEnd);
    return pod;
  }

  /** Deletes one host early (its processes are killed with the namespace). */
  async removeHost(host: Host): Promise<void> {
    const index = this.hosts.indexOf(host);
    if (index >= 0) this.hosts.splice(index, 1);
    await removeNamespace(host.namespace);
  }

  spawnIn(host: Host, argv: readonly string[]): NetnsProcess {
    const child = spawn('ip', ['netns', 'exec', host.namespace, ...argv], { stdio: ['ignore', 'pipe', 'pipe'] });
    const proc = trackProcess(child);
    this.processes.push(proc);
    return proc;
  }

  /** Kills every process started here and deletes every namespace. Safe to call twice. */
  async destroy(): Promise<void> {
    process.removeListener('exit', this.onExit);
    for (const proc of this.processes.splice(0)) proc.kill();
    for (const host of this.hosts.splice(0).reverse()) await removeNamespace(host.namespace);
  }

  /** Last resort when the test process exits without running its teardown. */
  private destroySync(): void {
    for (const proc of this.processes) proc.kill();
    for (const host of this.hosts) spawnSync('ip', ['netns', 'del', host.namespace]);
  }
}

function trackProcess(child: ChildProcess): NetnsProcess {
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (chunk: Buffer) => { stdout += chunk.toString('utf8'); });
  child.stderr?.on('data', (chunk: Buffer) => { stderr += chunk.toString('utf8'); });
  const exit = new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
  return {
    child,
    output: () => stdout,
    exited: () => exit,
    kill: () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    },
    waitFor: (pattern, timeoutMs = 10_000) => new Promise((resolve, reject) => {
      const timer = setTimeout(() => { cleanup(); reject(new Error(`timed out waiting for ${pattern}: ${stderr}`)); }, timeoutMs);
      const check = () => {
        const line = stdout.split('\n').find((l) => pattern.test(l));
        if (line !== undefined) { cleanup(); resolve(line); }
      };
      const onClose = (code: number | null) => { cleanup(); reject(new Error(`exited (${code}) before ${pattern}: ${stderr}`)); };
      const cleanup = () => {
        clearTimeout(timer);
        child.stdout?.off('data', check);
        child.off('close', onClose);
      };
      child.stdout?.on('data', check);
      child.on('close', onClose);
      check();
    }),
  };
}

function hostPrefix(address: string): string {
  return address.includes(':') ? `${address}/128` : `${address}/32`;
}

function family(address: string): string[] {
  return address.includes(':') ? ['-6'] : [];
}

/** IPv6 duplicate-address detection would keep a fresh address unusable for a second. */
function nodad(address: string): string[] {
  return address.includes(':') ? ['nodad'] : [];
}
