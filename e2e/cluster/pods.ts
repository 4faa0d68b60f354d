/**
 * Pods as the cluster sees them: a network namespace behind its node running a real echo
 * server, and a Pod object the harness marks Ready the way a kubelet would, so the real
 * EndpointSlice controller publishes it. Termination follows Kubernetes: a graceful
 * delete makes the endpoint terminating (still serving) before the server goes away.
 */
import { CoreV1Api, type V1Pod } from '@kubernetes/client-node';
import { applyStatus } from '@natplan/controller-kit';
import type { KubeClient } from '@natplan/controller-kit';
import type { ControlPlane } from '../control-plane/index.js';
import { startEcho, type Host, type NetnsProcess, type Topology } from '../netns/index.js';
import { podAddress, podGateway } from './addresses.js';

export const ECHO_TCP_PORT = 8080;
export const ECHO_UDP_PORT = 5353;

export interface Pod {
  namespace: string;
  name: string;
  node: string;
  address: string;
  host: Host;
  server: NetnsProcess;
}

export class Pods {
  private readonly next = new Map<number, number>();
  private readonly core: CoreV1Api;

  constructor(private readonly cp: ControlPlane, private readonly client: KubeClient, private readonly topo: Topology, private readonly nodes: Host[]) {
    this.core = cp.kubeConfig.makeApiClient(CoreV1Api);
  }

  async start(namespace: string, name: string, nodeIndex: number, labels: Record<string, string>): Promise<Pod> {
    const n = this.next.get(nodeIndex) ?? 0;
    this.next.set(nodeIndex, n + 1);
    const address = podAddress(nodeIndex, n);
    const nodeHost = this.nodes[nodeIndex]!;
    const host = await this.topo.addPod(nodeHost, `${name}`.slice(0, 40), { addresses: [address], gateways: [podGateway(nodeIndex)] });
    const server = await startEcho(host, { tcp: [ECHO_TCP_PORT], udp: [ECHO_UDP_PORT] }, name);
    const body: V1Pod = {
      metadata: { name, namespace, labels },
      spec: {
        nodeName: nodeHost.name,
        automountServiceAccountToken: false,
        terminationGracePeriodSeconds: 30,
        containers: [{ name: 'echo', image: 'natplan.io/echo', ports: [{ name: 'http', containerPort: ECHO_TCP_PORT }, { name: 'dns', containerPort: ECHO_UDP_PORT, protocol: 'UDP' }] }],
      },
    };
    await this.core.createNamespacedPod({ namespace, body });
    await this.setReady({ namespace, name, address }, true);
    return { namespace, name, node: nodeHost.name, address, host, server };
  }

  /** What a kubelet reports once the container runs and its readiness probe passes. */
  async setReady(pod: Pick<Pod, 'namespace' | 'name' | 'address'>, ready: boolean): Promise<void> {
    const now = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
    await applyStatus(this.client, {
      apiVersion: 'v1', kind: 'Pod', metadata: { name: pod.name, namespace: pod.namespace },
      status: {
        phase: 'Running', podIP: pod.address, podIPs: [{ ip: pod.address }],
        conditions: ['Ready', 'ContainersReady'].map((type) => ({ type, status: ready ? 'True' : 'False', lastTransitionTime: now })),
      },
    } as never, { fieldManager: 'kubelet' });
  }

  /** A graceful delete: the Pod gets a deletionTimestamp and its endpoint turns terminating. */
  async beginTermination(pod: Pod): Promise<void> {
    await this.core.deleteNamespacedPod({ name: pod.name, namespace: pod.namespace, gracePeriodSeconds: 30 });
  }

  /** The end of termination: the server stops and the Pod object goes. */
  async finish(pod: Pod): Promise<void> {
    pod.server.kill();
    await this.core.deleteNamespacedPod({ name: pod.name, namespace: pod.namespace, gracePeriodSeconds: 0 }).catch(() => undefined);
    await this.topo.removeHost(pod.host);
  }
}
