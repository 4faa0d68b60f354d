export { PortMappingClient } from './client.js';
export type { MappingExtras, PortMapper, PortMappingClientOptions } from './client.js';
export { NATPMP_RETRANSMIT, PCP_RETRANSMIT, exchange } from './exchange.js';
export type { Clock, Datagrams, RetransmitPolicy } from './exchange.js';
export { MappingLease } from './lease.js';
export type { LeaseEvent } from './lease.js';
export { GatewayRefusal, GatewayTimeout, UnsupportedVersion } from './types.js';
export type { GrantedMapping, MappingProtocol, MappingRequest, RefusalReason, TransportProtocol } from './types.js';
export { connectGateway, createGatewayClient, systemClock } from './udp.js';
