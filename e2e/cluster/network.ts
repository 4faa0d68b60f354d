/**
 * The cluster's hosts as network namespaces: nodes on a LAN that route each other's pod
 * CIDRs, a client on the LAN that reaches external and load-balancer IPs through node-a,
 * the LAN's router (every node's default route), and optionally a WAN behind that router,
 * which then is the NAT gateway in front of the last node (set up the way an admin would:
 * a port forward from the public address to the node).
 */
import type { Host, Topology } from '../netns/index.js';
import * as A from './addresses.js';

export interface ClusterNetwork {
  lan: Host;
  client: Host;
  nodes: Host[];
  /** `addresses`: the WAN's address plan; `interfaces`: the gateway's LAN and WAN interface names. */
  wan?: { gateway: Host; internetClient: Host; outsider: Host; addresses: WanAddresses; interfaces: { lan: string; wan: string } };
}

export interface WanAddresses { readonly prefix: number; readonly gateway: string; readonly internetClient: string; readonly outsider: string }

export async function buildNetwork(topo: Topology, nodeCount: number, withGateway: boolean, wanAddresses: WanAddresses = A.DOCUMENTATION_WAN): Promise<ClusterNetwork> {
  const lan = await topo.addSwitch('lan');
  const nodes: Host[] = [];
  for (let i = 0; i < nodeCount; i++) {
    const node = await topo.addHost(A.nodeName(i), { router: true });
    await topo.attach(node, lan, [`${A.nodeAddress(i)}/${A.LAN_PREFIX}`]);
    nodes.push(node);
  }
  for (let i = 0; i < nodeCount; i++) {
    for (let j = 0; j < nodeCount; j++) if (i !== j) await nodes[i]!.ip('route', 'add', A.podCIDR(j), 'via', A.nodeAddress(j));
  }
  const client = await topo.addHost('client');
  await topo.attach(client, lan, [`${A.LAN_CLIENT}/${A.LAN_PREFIX}`]);
  await client.ip('route', 'add', A.EXTERNAL_CIDR, 'via', A.nodeAddress(0));
  // The LAN's router: nodes have a default route, as real nodes do, so traffic to a
  // Service address is routed (and reaches the forward hook's reject) instead of failing
  // route lookup with "network unreachable".
  const gateway = await topo.addHost('gateway', { router: true });
  const lanInterface = await topo.attach(gateway, lan, [`${A.GATEWAY_LAN}/${A.LAN_PREFIX}`]);
  for (const node of nodes) await node.ip('route', 'add', 'default', 'via', A.GATEWAY_LAN);
  if (!withGateway) return { lan, client, nodes };

  const wanSwitch = await topo.addSwitch('wan');
  const w = wanAddresses;
  const wanInterface = await topo.attach(gateway, wanSwitch, [`${w.gateway}/${w.prefix}`]);
  const internetClient = await topo.addHost('inet');
  await topo.attach(internetClient, wanSwitch, [`${w.internetClient}/${w.prefix}`]);
  const outsider = await topo.addHost('outsider');
  await topo.attach(outsider, wanSwitch, [`${w.outsider}/${w.prefix}`]);
  return { lan, client, nodes, wan: { gateway, internetClient, outsider, addresses: w, interfaces: { lan: lanInterface, wan: wanInterface } } };
}

/**
 * What an admin configures on the gateway: public:port -> node:port (TCP), nothing else.
 * On a gateway whose firewall drops forwarded traffic (miniupnpd's table), the admin also
 * lets the forwarded connections through: `acceptIn` names that forward chain.
 */
export async function forwardPort(
  gateway: Host, publicPort: number, nodeIp: string, nodePort: number,
  options: { publicAddress?: string; acceptIn?: { table: string; chain: string } } = {},
): Promise<void> {
  const script = [
    'table ip gateway-nat {',
    '  chain prerouting { type nat hook prerouting priority dstnat; policy accept;',
    `    ip daddr ${options.publicAddress ?? A.GATEWAY_PUBLIC} tcp dport ${publicPort} dnat to ${nodeIp}:${nodePort}`,
    '  }',
    '}',
    ...(options.acceptIn ? [`add rule ${options.acceptIn.table} ${options.acceptIn.chain} ip daddr ${nodeIp} tcp dport ${nodePort} ct status dnat accept`] : []),
  ].join('\n');
  await gateway.run(['nft', '-f', '-'], { stdin: `${script}\n` });
}
