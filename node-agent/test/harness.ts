/**
 * The set-up the agent's integration tests share: a real API server, a network namespace
 * for node-a on a LAN switch (172.18.0.2/24; a client host at 172.18.0.100 when asked),
 * node-a's NodeNatPlan, and the agent started in this process to program that namespace
 * (--netns) with each test's flags and, optionally, a wrapper around its exec boundary
 * (fault injection). Addresses (fixed for the project): node LAN 172.18.0.0/24, pods
 * 10.244.1.0/24, cluster IPs 10.96.0.0/16 — all only inside the test's namespaces.
 * `stop` removes the namespaces and the API server, also after a failed test (call it in
 * afterAll, after stopping the agent the test runs).
 */
import { jsonLogger, type ClusterAccess } from '@natplan/controller-kit';
import type { NodeNatPlan, NodeNatPlanSpec } from '@natplan/api';
import { type ControlPlane, startControlPlane, testApi } from '@natplan/e2e/control-plane';
import { Topology, type Host } from '@natplan/e2e/netns';
import { parseAgentConfig } from '../src/config.js';
import type { Exec } from '../src/exec/index.js';
import { startAgent, type RunningAgent } from '../src/shell/agent.js';

export const NODE_NAME = 'node-a';
export const NODE_ADDRESS = '172.18.0.2';
export const CLIENT_ADDRESS = '172.18.0.100';

/** node-a's NodeNatPlan as the operator would write it, with `spec` overriding fields. */
export function nodePlanFor(spec: Partial<NodeNatPlanSpec> = {}): NodeNatPlan {
  return {
    apiVersion: 'natplan.io/v1alpha1', kind: 'NodeNatPlan', metadata: { name: NODE_NAME },
    spec: { nodeName: NODE_NAME, nodePortAddresses: [NODE_ADDRESS], podCIDRs: ['10.244.1.0/24'], clusterCIDRs: ['10.244.0.0/16'], masqueradeAll: false, backend: 'auto', ...spec },
  };
}

export interface AgentHarness {
  cp: ControlPlane;
  api: ReturnType<typeof testApi>;
  topo: Topology;
  /** node-a's namespace: where the agent's rules go. */
  node: Host;
  /** A host on the LAN, when asked for. */
  client: Host | undefined;
  /**
   * Starts the agent for node-a. `flags` come after the fixed ones (node name, --netns,
   * an ephemeral metrics port, warn logs); `wrap` may wrap the real exec of the namespace;
   * `access` replaces the admin kubeconfig (e.g. to reach the API server through a proxy).
   */
  runAgent(flags?: readonly string[], wrap?: (real: Exec) => Exec, access?: ClusterAccess): Promise<RunningAgent>;
  /** node-a's NodeNatPlan as the API server has it now. */
  nodeStatus(): Promise<any>; // eslint-disable-line @typescript-eslint/no-explicit-any
  stop(): Promise<void>;
}

export interface HarnessOptions {
  /** Adds the client host at 172.18.0.100. */
  client?: boolean;
  /** Overrides of node-a's NodeNatPlan spec, created before the agent starts. */
  nodePlan?: Partial<NodeNatPlanSpec>;
}

export async function startAgentHarness(options: HarnessOptions = {}): Promise<AgentHarness> {
  const cp = await startControlPlane();
  let topo: Topology | undefined;
  try {
    const api = testApi(cp.kubeConfig);
    topo = await Topology.create();
    const lan = await topo.addSwitch('lan');
    const node = await topo.addHost(NODE_NAME, { router: true });
    await topo.attach(node, lan, [`${NODE_ADDRESS}/24`]);
    let client: Host | undefined;
    if (options.client) {
      client = await topo.addHost('client');
      await topo.attach(client, lan, [`${CLIENT_ADDRESS}/24`]);
    }
    await api.create(nodePlanFor(options.nodePlan));
    const created = topo;
    return {
      cp, api, topo: created, node, client,
      async runAgent(flags = [], wrap, access) {
        const parsed = parseAgentConfig([`--node-name=${NODE_NAME}`, `--netns=${node.namespace}`, '--metrics-address=127.0.0.1:0', '--log-level=warn', ...flags], {});
        if (!parsed.ok) throw new Error(parsed.errors.join('; '));
        return startAgent({ kubeConfig: access ?? cp.kubeConfig, config: parsed.config, logger: jsonLogger({ component: 'agent', level: 'warn' }), exec: wrap ? wrap(node.exec) : node.exec });
      },
      nodeStatus: async () => (await api.plans('nodenatplans')).find((p) => p.metadata.name === NODE_NAME),
      async stop() {
        await created.destroy();
        await cp.stop();
      },
    };
  } catch (err) {
    await topo?.destroy();
    await cp.stop();
    throw err;
  }
}
