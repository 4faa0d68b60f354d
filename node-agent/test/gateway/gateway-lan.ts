/**
 * The network of the gateway tests, built only inside namespaces it creates:
 *
 *   node (172.18.0.2) ──────┐                      ┌── internet client (11.18.0.50)
 *   other LAN hosts ─────── lan ─ gateway ─ wan
 *                           172.18.0.1   11.18.0.1
 *
 * with a real miniupnpd (Debian's miniupnpd-nftables) on the gateway whose allow rule
 * covers the node subnet 172.18.0.0/28 only, and TCP echo servers on the node. The WAN is
 * not one of the documentation ranges the other netns tests use: miniupnpd refuses to map
 * when its external address is reserved (RFC 5737 ranges included), as a gateway behind
 * another NAT cannot be reached. 11.18.0.0/24 exists only inside these namespaces, which
 * have no link to the machine's own network.
 */
import { Miniupnpd, Topology, startEcho, type Host, type MiniupnpdOptions } from '@natplan/e2e/netns';

export const GATEWAY_LAN = '172.18.0.1';
export const EXTERNAL = '11.18.0.1';
export const NODE = '172.18.0.2';
export const INTERNET = '11.18.0.50';
/** miniupnpd allows mappings for the node subnet only. */
export const NODE_SUBNET_ONLY = '1024-65535 172.18.0.0/28 1024-65535';

export interface GatewayLan {
  topology: Topology;
  gateway: Host;
  node: Host;
  internet: Host;
  /** The extra LAN hosts, by the name they were asked for. */
  others: Record<string, Host>;
  daemon: Miniupnpd;
}

export interface GatewayLanOptions {
  /** Extra LAN hosts: name -> address in 172.18.0.0/24. */
  others?: Record<string, string>;
  /** miniupnpd's settings besides its interfaces and allow rule. */
  miniupnpd: Omit<MiniupnpdOptions, 'wanInterface' | 'lanInterface' | 'allow'>;
  /** TCP ports the node answers on (echo servers, killed with the topology). */
  echoPorts: number[];
}

export async function startGatewayLan(options: GatewayLanOptions): Promise<GatewayLan> {
  const topology = await Topology.create();
  let daemon: Miniupnpd | undefined;
  try {
    const lan = await topology.addSwitch('lan');
    const wan = await topology.addSwitch('wan');
    const gateway = await topology.addHost('gw', { router: true });
    const node = await topology.addHost('node');
    const internet = await topology.addHost('inet');
    const lanInterface = await topology.attach(gateway, lan, [`${GATEWAY_LAN}/24`]);
    const wanInterface = await topology.attach(gateway, wan, [`${EXTERNAL}/24`]);
    await topology.attach(node, lan, [`${NODE}/24`]);
    await topology.attach(internet, wan, [`${INTERNET}/24`]);
    const others: Record<string, Host> = {};
    for (const [name, address] of Object.entries(options.others ?? {})) {
      const host = await topology.addHost(name);
      await topology.attach(host, lan, [`${address}/24`]);
      others[name] = host;
    }
    for (const host of [node, ...Object.values(others)]) await host.ip('route', 'add', 'default', 'via', GATEWAY_LAN);
    daemon = await Miniupnpd.create(gateway, { wanInterface, lanInterface, allow: [NODE_SUBNET_ONLY], ...options.miniupnpd });
    await daemon.installTable();
    await daemon.start();
    await startEcho(node, { tcp: options.echoPorts });
    return { topology, gateway, node, internet, others, daemon };
  } catch (err) {
    // Half built: remove what exists, so a failed start leaves nothing behind.
    await daemon?.destroy();
    await topology.destroy();
    throw err;
  }
}

export async function stopGatewayLan(lan: GatewayLan | undefined): Promise<void> {
  await lan?.daemon.destroy();
  await lan?.topology.destroy();
}
