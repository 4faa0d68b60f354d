export { Host, Topology } from './topology.js';
export type { HostOptions, NetnsProcess, PodOptions } from './topology.js';
export { NAMESPACE_PREFIX, listNamespaces, removeNamespace, sweepStaleNamespaces } from './names.js';
export { connectLatencies, holdConnections, startEcho, tally, tcpProbe, udpProbe } from './traffic.js';
export type { EchoPorts, HoldSummary, ProbeOptions, ProbeResult } from './traffic.js';
export { Miniupnpd, MINIUPNPD, type MiniupnpdOptions } from './miniupnpd.js';
export { startResolver, type Answer, type Resolver, type ResolverOptions, type ResolverSummary } from './resolver.js';
