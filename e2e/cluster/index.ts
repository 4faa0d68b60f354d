export { Cluster, type ClusterOptions } from './cluster.js';
export { forwardPort } from './network.js';
export { ECHO_TCP_PORT, ECHO_UDP_PORT, type Pod } from './pods.js';
export * as addresses from './addresses.js';
