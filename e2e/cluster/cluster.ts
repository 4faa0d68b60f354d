/**
 * natplan on one machine: a real control plane (kube-apiserver, etcd and the EndpointSlice
 * controller of kube-controller-manager), the operator (one or two replicas with leader
 * election), and one node agent per node, each enforcing inside its node's network
 * namespace. Everything is driven through the Kubernetes API; `stop()` leaves nothing.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CoreV1Api, type V1Node } from '@kubernetes/client-node';
import { jsonLogger, kubeClient, type LogLevel } from '@natplan/controller-kit';
import { parseAgentConfig, type RunningAgent, startAgent } from '@natplan/node-agent';
import { parseOperatorConfig, type RunningOperator, startOperator } from '@natplan/operator';
import { kubectl, SERVICE_CIDR, startControllerManager, startControlPlane, waitFor, type ControlPlane } from '../control-plane/index.js';
import { Miniupnpd, Topology } from '../netns/index.js';
import * as A from './addresses.js';
import { buildNetwork, type ClusterNetwork } from './network.js';
import { Pods } from './pods.js';

export interface ClusterOptions {
  nodes?: number;
  operators?: number;
  /**
   * A NAT gateway in front of the last node: true forwards nothing until a test says so,
   * as an admin would (network.ts forwardPort); 'miniupnpd' runs Debian's miniupnpd there
   * (PCP and NAT-PMP; secure mode; only the node subnet may map), on a WAN that is not a
   * documentation range (addresses.ts).
   */
  gateway?: boolean | 'miniupnpd';
  /** The longest lease miniupnpd grants, in seconds. */
  gatewayMaxLifetimeSeconds?: number;
  logLevel?: LogLevel;
  /** Keep the control plane's working directory (and run it detached) for the sandbox's --keep. */
  dir?: string;
}

export class Cluster {
  readonly operators = new Map<string, RunningOperator>();
  readonly agents = new Map<string, RunningAgent>();
  readonly core: CoreV1Api;
  readonly pods: Pods;

  /** The gateway's daemon with `gateway: 'miniupnpd'`. */
  miniupnpd: Miniupnpd | undefined;
  /** Per-run files: the agents' lists of gateway mappings. */
  readonly stateDir: string;

  private constructor(readonly cp: ControlPlane, readonly topo: Topology, readonly net: ClusterNetwork, private readonly options: Required<Pick<ClusterOptions, 'logLevel'>>, stateDir: string) {
    this.stateDir = stateDir;
    this.core = cp.kubeConfig.makeApiClient(CoreV1Api);
    this.pods = new Pods(cp, kubeClient(cp.kubeConfig), topo, net.nodes);
  }

  static async start(options: ClusterOptions = {}): Promise<Cluster> {
    const nodeCount = options.nodes ?? 2;
    const cp = await startControlPlane(options.dir ? { dir: options.dir, keepDir: true } : {});
    let topo: Topology | undefined;
    let daemon: Miniupnpd | undefined;
    const stateDir = await mkdtemp(join(tmpdir(), 'natplan-cluster-'));
    try {
      await startControllerManager(cp);
      topo = await Topology.create();
      const mapped = options.gateway === 'miniupnpd';
      const net = await buildNetwork(topo, nodeCount, options.gateway !== undefined && options.gateway !== false, mapped ? A.MAPPED_WAN : A.DOCUMENTATION_WAN);
      const cluster = new Cluster(cp, topo, net, { logLevel: options.logLevel ?? 'warn' }, stateDir);
      if (mapped) {
        const wan = net.wan!;
        daemon = await Miniupnpd.create(wan.gateway, {
          wanInterface: wan.interfaces.wan, lanInterface: wan.interfaces.lan, allow: [`1024-65535 ${A.NODE_SUBNET} 1024-65535`], maxLifetimeSeconds: options.gatewayMaxLifetimeSeconds ?? 3600,
        });
        await daemon.installTable();
        await daemon.start();
        cluster.miniupnpd = daemon;
      }
      for (let i = 0; i < nodeCount; i++) await cluster.core.createNode({ body: nodeObject(i, nodeCount, options.gateway !== undefined && options.gateway !== false ? net.wan!.addresses.gateway : undefined) });
      for (let i = 0; i < (options.operators ?? 1); i++) await cluster.startOperator(`operator-${i + 1}`);
      for (let i = 0; i < nodeCount; i++) await cluster.startAgent(A.nodeName(i));
      return cluster;
    } catch (err) {
      await daemon?.destroy();
      await topo?.destroy();
      await cp.stop();
      await rm(stateDir, { recursive: true, force: true });
      throw err;
    }
  }

  async startOperator(identity: string): Promise<RunningOperator> {
    const parsed = parseOperatorConfig([
      '--metrics-address=127.0.0.1:0', `--cluster-cidrs=${A.CLUSTER_CIDR}`, `--service-cidrs=${SERVICE_CIDR}`, `--external-ip-allow-list=${A.EXTERNAL_CIDR}`,
      '--leader-election-namespace=kube-system', `--identity=${identity}`, '--lease-duration=3s', `--log-level=${this.options.logLevel}`,
    ], {}, identity);
    if (!parsed.ok) throw new Error(parsed.errors.join('; '));
    const op = await startOperator({ kubeConfig: this.cp.kubeConfig, config: parsed.config, logger: jsonLogger({ component: 'operator', level: this.options.logLevel }).with({ identity }) });
    this.operators.set(identity, op);
    return op;
  }

  async stopOperator(identity: string): Promise<void> {
    await this.operators.get(identity)?.stop();
    this.operators.delete(identity);
  }

  leader(): string | undefined {
    return [...this.operators].find(([, op]) => op.isLeader())?.[0];
  }

  async startAgent(node: string): Promise<RunningAgent> {
    const host = this.net.nodes.find((h) => h.name === node);
    if (!host) throw new Error(`no node ${node}`);
    const parsed = parseAgentConfig(this.agentFlags(node, host.namespace), {});
    if (!parsed.ok) throw new Error(parsed.errors.join('; '));
    const agent = await startAgent({ kubeConfig: this.cp.kubeConfig, config: parsed.config, logger: jsonLogger({ component: 'agent', level: this.options.logLevel }).with({ node }) });
    this.agents.set(node, agent);
    return agent;
  }

  /** The flags the harness runs `node`'s agent with; `natplan cleanup` takes the same. */
  agentFlags(node: string, namespace = this.net.nodes.find((h) => h.name === node)?.namespace ?? ''): string[] {
    return [`--node-name=${node}`, `--netns=${namespace}`, '--metrics-address=127.0.0.1:0', '--min-sync-period=100ms', '--status-period=5s', `--log-level=${this.options.logLevel}`,
      `--gateway-state-file=${join(this.stateDir, `${node}-gateway-mappings.json`)}`, '--gateway-retry=2s'];
  }

  async stopAgent(node: string): Promise<void> {
    await this.agents.get(node)?.stop();
    this.agents.delete(node);
  }

  /** A namespace with its default ServiceAccount (Pods need it), made by the real controller. */
  async createNamespace(name: string): Promise<void> {
    await this.core.createNamespace({ body: { metadata: { name } } });
    await waitFor(`default ServiceAccount in ${name}`, async () => ((await this.core.readNamespacedServiceAccount({ name: 'default', namespace: name }).catch(() => undefined)) ? true : undefined), 30_000);
  }

  kubectl(...args: string[]) {
    return kubectl(this.cp.kubeconfigPath, args);
  }

  /** `nft list ruleset` inside `node`'s namespace: what the kernel holds there ('' when nothing). */
  async rulesOn(node: string): Promise<string> {
    const host = this.net.nodes.find((h) => h.name === node)!;
    const out = await host.run(['nft', 'list', 'ruleset']).catch(() => ({ stdout: '' }));
    return out.stdout;
  }

  async stop(): Promise<void> {
    for (const agent of this.agents.values()) await agent.stop().catch(() => undefined);
    for (const op of this.operators.values()) await op.stop().catch(() => undefined);
    this.agents.clear();
    this.operators.clear();
    await this.miniupnpd?.destroy();
    await this.topo.destroy();
    await this.cp.stop();
    await rm(this.stateDir, { recursive: true, force: true });
  }
}

/** `publicAddress`: the NAT gateway's, when there is one in front of the last node (its annotation, for fromNode Annotation). */
function nodeObject(i: number, count: number, publicAddress: string | undefined): V1Node {
  const behindGateway = publicAddress !== undefined && i === count - 1;
  return {
    metadata: {
      name: A.nodeName(i),
      labels: { 'kubernetes.io/hostname': A.nodeName(i), 'topology.kubernetes.io/zone': `zone-${i % 2 === 0 ? 'a' : 'b'}`, ...(behindGateway ? { 'natplan.io/behind-nat': 'true' } : {}) },
      ...(behindGateway ? { annotations: { 'natplan.io/public-address': publicAddress } } : {}),
    },
    spec: { podCIDR: A.podCIDR(i), podCIDRs: [A.podCIDR(i)] },
    status: { addresses: [{ type: 'InternalIP', address: A.nodeAddress(i) }, { type: 'Hostname', address: A.nodeName(i) }] },
  };
}
