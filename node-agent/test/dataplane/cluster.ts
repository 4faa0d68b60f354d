import { Topology, startEcho } from '@natplan/e2e/netns';
import type { Host, NetnsProcess } from '@natplan/e2e/netns';

/**
 * The dataplane tests' small cluster (addresses from the ranges fixed in
 * e2e/netns/topology.ts):
 *
 *   client 203.0.113.10, outsider 192.0.2.66 ──┐
 *   gw 172.18.0.1 ─────────────────── lan switch (L2) ── node-a 172.18.0.2 ── pod-a1 10.244.1.5, pod-a2 10.244.1.6
 *                                               └────── node-b 172.18.0.3 ── pod-b1 10.244.2.9
 *
 * The nodes' default route points at gw, a router that knows only the lan and the pod
 * networks: anything the nodes do not NAT comes back as ICMP "network unreachable"
 * (ENETUNREACH), so a test can tell a packet our rules dropped (timeout) from one they
 * let through unchanged. Real nodes have a default route too, and both the output path
 * (connect() from a node) and the forward path need one before NAT can happen.
 *
 * The client's default route points at node-a, so load-balancer and external IPs
 * (198.51.100.0/24, 192.0.2.10) arrive there as a cloud load balancer would deliver them.
 * Pod routes between nodes go over the lan. Every pod runs the echo server on TCP 8080
 * and UDP 5353 and 5354.
 */
export const ADDR = {
  client: '203.0.113.10',
  outsider: '192.0.2.66',
  gateway: '172.18.0.1',
  nodeA: '172.18.0.2',
  nodeB: '172.18.0.3',
  podA1: '10.244.1.5',
  podA2: '10.244.1.6',
  podB1: '10.244.2.9',
} as const;

/** The same hosts' IPv6 addresses: every host is dual-stack, routed the same way. */
export const ADDR6 = {
  client: '2001:db8::10',
  gateway: 'fd00:172:18::1',
  nodeA: 'fd00:172:18::2',
  nodeB: 'fd00:172:18::3',
  podA1: 'fd00:10:244:1::5',
  podA2: 'fd00:10:244:1::6',
  podB1: 'fd00:10:244:2::9',
} as const;

export const POD_TCP_PORT = 8080;
export const POD_UDP_PORT = 5353;
/** A second UDP port no baseline Service uses, so a test can own an endpoint outright. */
export const POD_UDP_ALT_PORT = 5354;

export interface Cluster {
  readonly topology: Topology;
  readonly client: Host;
  readonly nodeA: Host;
  readonly nodeB: Host;
  readonly gw: Host;
  readonly pods: { readonly a1: Host; readonly a2: Host; readonly b1: Host };
  readonly servers: Map<string, NetnsProcess>;
  /** Restarts a pod's echo server (e.g. after a test stopped it). */
  startServer(pod: Host): Promise<void>;
  destroy(): Promise<void>;
}

export async function buildCluster(): Promise<Cluster> {
  const topology = await Topology.create();
  try {
    const lan = await topology.addSwitch('lan');
    const client = await topology.addHost('client');
    const nodeA = await topology.addHost('node-a', { router: true });
    const nodeB = await topology.addHost('node-b', { router: true });
    const gw = await topology.addHost('gw', { router: true });
    await topology.attach(gw, lan, [`${ADDR.gateway}/16`, `${ADDR6.gateway}/64`]);
    await topology.attach(client, lan, [`${ADDR.client}/32`, `${ADDR.outsider}/32`, `${ADDR6.client}/128`]);
    await topology.attach(nodeA, lan, [`${ADDR.nodeA}/16`, `${ADDR6.nodeA}/64`]);
    await topology.attach(nodeB, lan, [`${ADDR.nodeB}/16`, `${ADDR6.nodeB}/64`]);
    await client.ip('route', 'add', '172.18.0.0/16', 'dev', 'eth1', 'src', ADDR.client);
    await client.ip('route', 'add', 'default', 'via', ADDR.nodeA, 'dev', 'eth1', 'src', ADDR.client);
    for (const node of [nodeA, nodeB]) {
      for (const address of [ADDR.client, ADDR.outsider]) await node.ip('route', 'add', address, 'dev', 'eth1');
    }
    await nodeA.ip('route', 'add', '10.244.2.0/24', 'via', ADDR.nodeB, 'dev', 'eth1');
    await nodeB.ip('route', 'add', '10.244.1.0/24', 'via', ADDR.nodeA, 'dev', 'eth1');
    for (const node of [nodeA, nodeB]) await node.ip('route', 'add', 'default', 'via', ADDR.gateway, 'dev', 'eth1');
    await gw.ip('route', 'add', '10.244.1.0/24', 'via', ADDR.nodeA, 'dev', 'eth1');
    await gw.ip('route', 'add', '10.244.2.0/24', 'via', ADDR.nodeB, 'dev', 'eth1');
    for (const address of [ADDR.client, ADDR.outsider]) await gw.ip('route', 'add', address, 'dev', 'eth1');
    await routeIPv6({ client, nodeA, nodeB, gw });
    const onA = ['10.244.1.1', 'fd00:10:244:1::1'];
    const a1 = await topology.addPod(nodeA, 'pod-a1', { addresses: [ADDR.podA1, ADDR6.podA1], gateways: onA });
    const a2 = await topology.addPod(nodeA, 'pod-a2', { addresses: [ADDR.podA2, ADDR6.podA2], gateways: onA });
    const b1 = await topology.addPod(nodeB, 'pod-b1', { addresses: [ADDR.podB1, ADDR6.podB1], gateways: ['10.244.2.1', 'fd00:10:244:2::1'] });
    const servers = new Map<string, NetnsProcess>();
    const startServer = async (pod: Host) => {
      servers.get(pod.name)?.kill();
      servers.set(pod.name, await startEcho(pod, { tcp: [POD_TCP_PORT], udp: [POD_UDP_PORT, POD_UDP_ALT_PORT] }));
    };
    await Promise.all([a1, a2, b1].map(startServer));
    return { topology, client, nodeA, nodeB, gw, pods: { a1, a2, b1 }, servers, startServer, destroy: () => topology.destroy() };
  } catch (error) {
    await topology.destroy();
    throw error;
  }
}

/** The IPv6 twin of the IPv4 routes above. */
async function routeIPv6(h: { client: Host; nodeA: Host; nodeB: Host; gw: Host }): Promise<void> {
  await h.client.ip('-6', 'route', 'add', 'fd00:172:18::/64', 'dev', 'eth1');
  await h.client.ip('-6', 'route', 'add', 'default', 'via', ADDR6.nodeA, 'dev', 'eth1');
  for (const node of [h.nodeA, h.nodeB, h.gw]) await node.ip('-6', 'route', 'add', ADDR6.client, 'dev', 'eth1');
  await h.nodeA.ip('-6', 'route', 'add', 'fd00:10:244:2::/64', 'via', ADDR6.nodeB, 'dev', 'eth1');
  await h.nodeB.ip('-6', 'route', 'add', 'fd00:10:244:1::/64', 'via', ADDR6.nodeA, 'dev', 'eth1');
  for (const node of [h.nodeA, h.nodeB]) await node.ip('-6', 'route', 'add', 'default', 'via', ADDR6.gateway, 'dev', 'eth1');
  await h.gw.ip('-6', 'route', 'add', 'fd00:10:244:1::/64', 'via', ADDR6.nodeA, 'dev', 'eth1');
  await h.gw.ip('-6', 'route', 'add', 'fd00:10:244:2::/64', 'via', ADDR6.nodeB, 'dev', 'eth1');
}
