/**
 * The static part of each family's table: hooks, helper chains and the few large named
 * sets and verdict maps that carry all per-Service data. Packet cost is one map lookup per
 * hook whatever the number of Services.
 *
 * Priorities: the filter chains run at -110, after conntrack (-200) and before the nat
 * dstnat hooks (-100), so source ranges are checked against the address the client used
 * (the load-balancer IP, not the endpoint) and a host firewall at `filter` (0) sees our
 * rejects first.
 *
 * Exposures (NatExposurePolicy) have their own maps, consulted only for packets whose
 * destination is an address of this node (`fib daddr type local`): an exposure is traffic
 * arriving at the node, never a pod's or the node's own connection to some other host,
 * even if a policy names that host's address (the Service maps match any destination,
 * because cluster IPs and load-balancer IPs are not local addresses).
 */
import type { FamilyPlan } from './plan.js';
import type { ChainState, IPFamily, SetState } from './model.js';
import { nftFamily } from './model.js';

export const CHAIN = {
  natPrerouting: 'nat-prerouting', natOutput: 'nat-output', natPostrouting: 'nat-postrouting',
  filterPrerouting: 'filter-prerouting', filterInput: 'filter-input', filterForward: 'filter-forward', filterOutput: 'filter-output',
  filterOutputPostDnat: 'filter-output-post-dnat',
  services: 'services', endpointsCheck: 'endpoints-check', firewallCheck: 'firewall-check', clusterIpsCheck: 'cluster-ips-check',
  markForMasquerade: 'mark-for-masquerade', masquerading: 'masquerading', rejectPacket: 'reject-packet',
} as const;

export const SET = {
  localCidrs: 'local-cidrs', nodePortIps: 'nodeport-ips',
  firewallIps: 'firewall-ips', firewallAllow: 'firewall-allow', hairpin: 'hairpin',
  serviceCidrs: 'service-cidrs', clusterIps: 'cluster-ips',
  serviceIps: 'service-ips', serviceNodePorts: 'service-nodeports',
  noEndpointServices: 'no-endpoint-services', noEndpointNodePorts: 'no-endpoint-nodeports',
  exposureIps: 'exposure-ips', noEndpointExposures: 'no-endpoint-exposures',
  exposureFirewallIps: 'exposure-firewall-ips', exposureFirewallAllow: 'exposure-firewall-allow',
  /** Per protocol, see slotMapName. */
  frontendSlots: 'frontend-slots', nodePortSlots: 'nodeport-slots',
} as const;

export const addressType = (family: IPFamily): string => (family === 'IPv4' ? 'ipv4_addr' : 'ipv6_addr');
export const markHex = (mark: number): string => `0x${mark.toString(16).padStart(8, '0')}`;

/**
 * The match for "from this node's pods" (`negate`: "not from them"), or undefined when the
 * family detects none. `iifname` is empty for the node's own packets (output hook), so the
 * interface modes never count them as a pod's, as in kube-proxy.
 */
export function localTrafficMatch(plan: Pick<FamilyPlan, 'family' | 'localTraffic'>, negate: boolean): string | undefined {
  const lt = plan.localTraffic;
  const op = negate ? '!= ' : '';
  if (lt.kind === 'cidrs') return `${nftFamily(plan.family)} saddr ${op}@${SET.localCidrs}`;
  if (lt.kind === 'interface') return `iifname ${op}"${lt.name}${lt.prefix ? '*' : ''}"`;
  return undefined;
}

/** The match for "addressed to a node-port address", or undefined when this family serves none. */
export function nodePortMatch(plan: Pick<FamilyPlan, 'family' | 'nodePortAddresses'>): string | undefined {
  const ipx = nftFamily(plan.family);
  if (plan.nodePortAddresses === 'all-local') {
    // Loopback is excluded as in kube-proxy's nftables mode: DNAT of 127/8 needs route_localnet.
    const loopback = plan.family === 'IPv4' ? '127.0.0.0/8' : '::1';
    return `${ipx} daddr != ${loopback} fib daddr type local`;
  }
  return plan.nodePortAddresses.length ? `${ipx} daddr @${SET.nodePortIps}` : undefined;
}

function emptySet(family: IPFamily, kind: 'set' | 'map', name: string, type: string, flags?: ('interval')[]): SetState {
  return { definition: { kind, family, name, type, ...(flags ? { flags } : {}) }, elements: new Map() };
}

export type SlotProtocol = 'tcp' | 'udp' | 'sctp';
const SLOT_PROTOCOLS: readonly SlotProtocol[] = ['tcp', 'udp', 'sctp'];

/** `frontend-slots-tcp`, `nodeport-slots-udp`, ... */
export const slotMapName = (kind: 'frontend' | 'nodeport', protocol: SlotProtocol): string =>
  `${kind === 'frontend' ? SET.frontendSlots : SET.nodePortSlots}-${protocol}`;

/** The key expression of a slot map, before `. numgen ...`. */
export const slotKey = (family: IPFamily, kind: 'frontend' | 'nodeport', protocol: SlotProtocol): string =>
  (kind === 'frontend' ? `${nftFamily(family)} daddr . ${protocol} dport` : `${protocol} dport`);

/**
 * `frontend . slot -> endpoint` maps for balanced Service ports (see nft-services.ts), one
 * per protocol: nft 1.0.6 refuses a rule over an existing `typeof ... th dport` map after
 * `meta l4proto tcp` ("conflicting protocols specified: tcp vs. th"), so the port is typed
 * by its protocol. `typeof` because numgen's plain integer has no named type; the `mod 2`
 * only types the key, each rule has its own modulus.
 */
function slotMaps(family: IPFamily): SetState[] {
  return (['frontend', 'nodeport'] as const).flatMap((kind) => SLOT_PROTOCOLS.map((protocol): SetState => {
    const type = `${slotKey(family, kind, protocol)} . numgen random mod 2 : ${nftFamily(family)} daddr . ${protocol} dport`;
    return { definition: { kind: 'map', family, name: slotMapName(kind, protocol), type, typeOf: true }, elements: new Map() };
  }));
}

export function skeletonSets(plan: Pick<FamilyPlan, 'family' | 'localTraffic' | 'nodePortAddresses' | 'serviceCIDRs' | 'clusterIPs'>): SetState[] {
  const { family } = plan;
  const addr = addressType(family);
  const service = `${addr} . inet_proto . inet_service`;
  const sets: SetState[] = [
    emptySet(family, 'set', SET.localCidrs, addr, ['interval']),
    emptySet(family, 'set', SET.nodePortIps, addr),
    emptySet(family, 'set', SET.serviceCidrs, addr, ['interval']),
    emptySet(family, 'set', SET.clusterIps, addr),
    emptySet(family, 'set', SET.firewallIps, service),
    // A concatenation with an interval needs the pipapo set backend (Linux 5.6+).
    emptySet(family, 'set', SET.firewallAllow, `${service} . ${addr}`, ['interval']),
    // `endpoint . endpoint`: a DNATed packet whose source is its own endpoint.
    emptySet(family, 'set', SET.hairpin, `${addr} . ${addr}`),
    emptySet(family, 'map', SET.serviceIps, `${service} : verdict`),
    emptySet(family, 'map', SET.serviceNodePorts, 'inet_proto . inet_service : verdict'),
    emptySet(family, 'map', SET.noEndpointServices, `${service} : verdict`),
    emptySet(family, 'map', SET.noEndpointNodePorts, 'inet_proto . inet_service : verdict'),
    emptySet(family, 'map', SET.exposureIps, `${service} : verdict`),
    emptySet(family, 'map', SET.noEndpointExposures, `${service} : verdict`),
    emptySet(family, 'set', SET.exposureFirewallIps, service),
    emptySet(family, 'set', SET.exposureFirewallAllow, `${service} . ${addr}`, ['interval']),
    ...slotMaps(family),
  ];
  const fill = (name: string, values: readonly string[]): void => {
    const set = sets.find((s) => s.definition.name === name);
    for (const v of values) set?.elements.set(v, '');
  };
  if (plan.localTraffic.kind === 'cidrs') fill(SET.localCidrs, plan.localTraffic.cidrs);
  if (plan.nodePortAddresses !== 'all-local') fill(SET.nodePortIps, plan.nodePortAddresses);
  fill(SET.serviceCidrs, plan.serviceCIDRs);
  fill(SET.clusterIps, plan.clusterIPs);
  return sets;
}

/**
 * The hooks and helper chains; none for an inactive family (a single-stack node's other
 * family), so its packets meet no natplan rule at all. Its sets stay: they are empty and
 * cost nothing, and an incremental sync adds the chains when the family becomes active.
 */
export function skeletonChains(plan: Pick<FamilyPlan, 'family' | 'localTraffic' | 'nodePortAddresses' | 'active'>, masqueradeMark: number): ChainState[] {
  if (!plan.active) return [];
  const ipx = nftFamily(plan.family);
  const mark = markHex(masqueradeMark);
  const nodePorts = nodePortMatch(plan);
  const frontend = `${ipx} daddr . meta l4proto . th dport`;
  const local = 'fib daddr type local';
  const base = (name: string, type: 'nat' | 'filter', hook: NonNullable<ChainState['base']>['hook'], priority: number, rules: string[]): ChainState =>
    ({ name, base: { type, hook, priority }, rules });
  const chain = (name: string, rules: string[]): ChainState => ({ name, rules });
  return [
    base(CHAIN.natPrerouting, 'nat', 'prerouting', -100, [`jump ${CHAIN.services}`]),
    base(CHAIN.natOutput, 'nat', 'output', -100, [`jump ${CHAIN.services}`]),
    base(CHAIN.natPostrouting, 'nat', 'postrouting', 100, [
      `ct status dnat ${ipx} saddr . ${ipx} daddr @${SET.hairpin} jump ${CHAIN.markForMasquerade}`,
      `jump ${CHAIN.masquerading}`,
    ]),
    base(CHAIN.filterPrerouting, 'filter', 'prerouting', -110, [`ct state new jump ${CHAIN.firewallCheck}`]),
    base(CHAIN.filterOutput, 'filter', 'output', -110, [`ct state new jump ${CHAIN.firewallCheck}`]),
    // REJECT is not allowed in prerouting, so "no endpoints" is enforced where the packet
    // is delivered: input (node ports, local addresses) or forward (cluster IPs). Both
    // run after prerouting's DNAT, so a packet the services chain sent to an endpoint no
    // longer matches a frontend there: only what no rule translated is dropped or rejected.
    base(CHAIN.filterInput, 'filter', 'input', -110, [`ct state new jump ${CHAIN.endpointsCheck}`]),
    base(CHAIN.filterForward, 'filter', 'forward', -110, [`ct state new jump ${CHAIN.endpointsCheck}`, `ct state new jump ${CHAIN.clusterIpsCheck}`]),
    // Locally generated packets are DNATed in the output hook (-100), so their checks run
    // after that, at -90, as for forwarded ones: the node's own connection to an
    // externalTrafficPolicy Local address without a local endpoint is short-circuited to
    // an endpoint elsewhere (DNAT) and must not meet that frontend's drop (kube-proxy's
    // nftables mode also checks the node's own packets after DNAT).
    base(CHAIN.filterOutputPostDnat, 'filter', 'output', -90, [`ct state new jump ${CHAIN.endpointsCheck}`, `ct state new jump ${CHAIN.clusterIpsCheck}`]),
    chain(CHAIN.services, [
      `${frontend} vmap @${SET.serviceIps}`,
      `${local} ${frontend} vmap @${SET.exposureIps}`,
      ...(nodePorts ? [`${nodePorts} meta l4proto . th dport vmap @${SET.serviceNodePorts}`] : []),
    ]),
    chain(CHAIN.endpointsCheck, [
      `${frontend} vmap @${SET.noEndpointServices}`,
      `${local} ${frontend} vmap @${SET.noEndpointExposures}`,
      ...(nodePorts ? [`${nodePorts} meta l4proto . th dport vmap @${SET.noEndpointNodePorts}`] : []),
    ]),
    // Still addressed to a cluster IP after DNAT: a port or protocol its Service does not
    // serve, refused as kube-proxy's nftables mode does (its iptables mode let such packets
    // through untranslated, a known defect). Still addressed to the Service range: no
    // Service holds that address, dropped.
    chain(CHAIN.clusterIpsCheck, [
      `${ipx} daddr @${SET.clusterIps} goto ${CHAIN.rejectPacket}`,
      `${ipx} daddr @${SET.serviceCidrs} drop`,
    ]),
    chain(CHAIN.firewallCheck, [
      `${frontend} @${SET.firewallIps} ${frontend} . ${ipx} saddr != @${SET.firewallAllow} drop`,
      `${local} ${frontend} @${SET.exposureFirewallIps} ${frontend} . ${ipx} saddr != @${SET.exposureFirewallAllow} drop`,
    ]),
    chain(CHAIN.markForMasquerade, [`meta mark set meta mark or ${mark}`]),
    chain(CHAIN.masquerading, [
      `meta mark & ${mark} == 0x00000000 return`,
      // Clear the bit so a packet that is routed through again is judged afresh.
      `meta mark set meta mark xor ${mark}`,
      'masquerade fully-random',
    ]),
    chain(CHAIN.rejectPacket, ['meta l4proto tcp reject with tcp reset', 'reject']),
  ];
}
