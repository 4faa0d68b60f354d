/**
 * The address plan of the one-machine cluster (fixed for the project; every address
 * exists only inside network namespaces the harness creates):
 * - LAN 172.18.0.0/24: node i at 172.18.0.(2+i), the in-cluster-network client at .100,
 *   the NAT gateway's private side at .254;
 * - pods of node i in 10.244.(1+i).0/24, the node's pod gateway at .1;
 * - Service cluster IPs 10.96.0.0/16 (the API server allocates them);
 * - external and load-balancer IPs from 192.0.2.0/24, routed by the client to node-a;
 * - WAN (the internet side of the NAT gateway) 198.51.100.0/24: gateway .1, an allowed
 *   internet client .50, an outsider .66;
 * - with miniupnpd as the gateway (port mappings asked for by the agents), the WAN is
 *   11.18.0.0/24 instead, same host numbers (.2 after an address change): miniupnpd refuses
 *   to map while its external address is private or reserved (the documentation ranges
 *   included), as a gateway behind another NAT cannot be reached. Like every address here it
 *   exists only on veths inside the test's namespaces, which have no link to any network.
 */
export const LAN_PREFIX = 24;
export const nodeName = (i: number): string => `node-${String.fromCharCode(97 + i)}`;
export const nodeAddress = (i: number): string => `172.18.0.${2 + i}`;
export const podCIDR = (i: number): string => `10.244.${1 + i}.0/24`;
export const podGateway = (i: number): string => `10.244.${1 + i}.1`;
export const podAddress = (i: number, n: number): string => `10.244.${1 + i}.${10 + n}`;
export const CLUSTER_CIDR = '10.244.0.0/16';
export const LAN_CLIENT = '172.18.0.100';
export const GATEWAY_LAN = '172.18.0.254';
export const GATEWAY_PUBLIC = '198.51.100.1';
export const INTERNET_CLIENT = '198.51.100.50';
export const OUTSIDER = '198.51.100.66';
export const EXTERNAL_CIDR = '192.0.2.0/24';
export const DOCUMENTATION_WAN = { prefix: 24, gateway: GATEWAY_PUBLIC, internetClient: INTERNET_CLIENT, outsider: OUTSIDER } as const;
export const MAPPED_WAN = { prefix: 24, gateway: '11.18.0.1', internetClient: '11.18.0.50', outsider: '11.18.0.66' } as const;
export const MAPPED_WAN_MOVED = '11.18.0.2';
/** The nodes' part of the LAN, the only hosts miniupnpd's allow rule lets map (the client at .100 is outside). */
export const NODE_SUBNET = '172.18.0.0/28';
