// What one NatExposurePolicy asks for, before conflicts are resolved: a list of claims
// (node, address, port, protocol -> Service port) and notes on what could not be used.
// The CRD schema already rejects most bad input (CEL rules); what it cannot see — a
// missing Service or port, a node without the address, an annotation that is not an
// IP — is reported here, never silently ignored.
import type { V1Node, V1Service } from '@kubernetes/client-node';
import type { NatExposurePolicy, NodeNatPlanExposure } from '@natplan/api';
import { compareText } from './endpoints.js';
import { serviceFamilies } from './frontends.js';
import type { NeverClaimableReason } from './claimable.js';
import { formatAddr, formatPrefix, LEGACY, parseAddr, parsePrefix } from '@natplan/netaddr';
import { selectorMatches } from './labels.js';
import { nodeAddresses } from './plan-node.js';

/** One address:port a policy wants on one node. */
export interface ExposureClaim {
  readonly node: string;
  readonly exposure: NodeNatPlanExposure;
  /** Where clients reach it, when that is not the programmed address (a node behind NAT). */
  readonly publicAddress?: string;
}

/** An address programmed on a node, and the one clients use when they differ. */
interface NodeAddress { readonly address: string; readonly publicAddress?: string }

/** Why a policy is not accepted at all (condition Accepted=False); see also claimable.ts and grants.ts. */
export type RejectReason = 'InvalidSpec' | 'InvalidSourceRange' | 'ServiceNotFound' | 'PortNotFound' | 'NoNodeAddress' | NeverClaimableReason | 'NotGranted' | 'GatewayMappingNotGranted';

export interface PolicyClaims {
  readonly claims: readonly ExposureClaim[];
  /** Set when the policy yields nothing usable. */
  readonly rejected: { readonly reason: RejectReason; readonly message: string } | undefined;
  /** Partial problems, e.g. one node without an ExternalIP. */
  readonly notes: readonly string[];
}

export const reject = (reason: RejectReason, message: string, notes: readonly string[] = []): PolicyClaims => ({ claims: [], rejected: { reason, message }, notes });

/**
 * The addresses a policy is programmed on for one node. The annotation names the node's
 * public address, which sits on a NAT gateway in front of the node: the gateway forwards
 * to the node's InternalIP, so that is where the rules match, and the public address is
 * what the status reports (one InternalIP of the same family per public address).
 */
function addressesOnNode(policy: NatExposurePolicy, node: V1Node, notes: string[]): NodeAddress[] {
  const spec = policy.spec.addresses;
  if (spec.ips) return [...new Set(spec.ips.map((text) => parseAddr(text, LEGACY)).filter((ip) => ip !== undefined).map(formatAddr))].map((address) => ({ address }));
  const name = node.metadata?.name ?? '';
  if (spec.fromNode === 'Gateway') {
    // The node's agent asks the gateway to forward to the address it sends from, its
    // InternalIP; NAT-PMP and the NAT in front of a node are IPv4 (an IPv6 node needs no
    // port forward, only a firewall pinhole, which this does not ask for).
    const ipv4 = nodeAddresses(node, ['InternalIP']).find((a) => parseAddr(a, LEGACY)?.family === 'IPv4');
    if (ipv4 === undefined) notes.push(`node ${name} has no IPv4 InternalIP for the gateway to forward to`);
    return ipv4 === undefined ? [] : [{ address: ipv4 }];
  }
  if (spec.fromNode === 'Annotation') {
    const value = node.metadata?.annotations?.[spec.annotation ?? ''];
    if (value === undefined) {
      notes.push(`node ${name} has no annotation ${spec.annotation}`);
      return [];
    }
    const internal = nodeAddresses(node, ['InternalIP']);
    const out: NodeAddress[] = [];
    for (const text of [...new Set(value.split(/[\s,]+/).filter((t) => t !== ''))]) {
      const ip = parseAddr(text, LEGACY);
      if (!ip) {
        notes.push(`node ${name}: annotation ${spec.annotation} holds ${JSON.stringify(text)}, not an IP address`);
        continue;
      }
      const local = internal.find((a) => parseAddr(a, LEGACY)?.family === ip.family);
      if (local) out.push({ address: local, publicAddress: formatAddr(ip) });
      else notes.push(`node ${name} has no ${ip.family} InternalIP to receive traffic for ${formatAddr(ip)}`);
    }
    return out;
  }
  const type = spec.fromNode === 'InternalIP' ? 'InternalIP' : 'ExternalIP';
  const found = nodeAddresses(node, [type]);
  if (found.length === 0) notes.push(`node ${name} has no ${type} address`);
  return found.map((address) => ({ address }));
}

function matchedServices(policy: NatExposurePolicy, servicesInNamespace: readonly V1Service[]): V1Service[] {
  const { name, selector } = policy.spec.service;
  return servicesInNamespace
    .filter((s) => (name !== undefined ? s.metadata?.name === name : selector !== undefined && selectorMatches(selector, s.metadata?.labels)))
    .filter((s) => s.spec?.type !== 'ExternalName')
    .sort((a, b) => compareText(a.metadata?.name ?? '', b.metadata?.name ?? ''));
}

/** Expands one policy into claims, in a deterministic order (service, port, node, address). */
export function claimsOf(
  policy: NatExposurePolicy,
  servicesInNamespace: readonly V1Service[],
  nodes: readonly V1Node[],
): PolicyClaims {
  const spec = policy.spec;
  const hasName = spec.service.name !== undefined;
  if (hasName === (spec.service.selector !== undefined)) return reject('InvalidSpec', 'spec.service needs exactly one of name or selector');
  if ((spec.addresses.ips !== undefined) === (spec.addresses.fromNode !== undefined)) {
    return reject('InvalidSpec', 'spec.addresses needs exactly one of ips or fromNode');
  }
  if (spec.addresses.fromNode === 'Annotation' && !spec.addresses.annotation) return reject('InvalidSpec', 'fromNode Annotation needs spec.addresses.annotation');
  const gateway = spec.addresses.fromNode === 'Gateway';
  if (gateway && spec.ports.some((p) => p.protocol === 'SCTP')) return reject('InvalidSpec', 'a gateway maps TCP and UDP ports only');
  const badIP = (spec.addresses.ips ?? []).find((text) => parseAddr(text, LEGACY) === undefined);
  if (badIP !== undefined) return reject('InvalidSpec', `spec.addresses.ips: ${JSON.stringify(badIP)} is not an IP address`);

  // A range that cannot be parsed rejects the whole policy: dropping it would widen access.
  const sourceRanges: string[] = [];
  for (const text of spec.sourceRanges ?? []) {
    const cidr = parsePrefix(text, LEGACY);
    if (!cidr) return reject('InvalidSourceRange', `spec.sourceRanges: ${JSON.stringify(text)} is not a CIDR`);
    if (!sourceRanges.includes(formatPrefix(cidr))) sourceRanges.push(formatPrefix(cidr));
  }

  const services = matchedServices(policy, servicesInNamespace);
  if (services.length === 0) {
    const what = hasName ? `Service ${spec.service.name}` : 'any Service matching the selector';
    return reject('ServiceNotFound', `no ${what} (other than ExternalName) exists in namespace ${policy.metadata?.namespace ?? ''}`);
  }
  const selectedNodes = nodes
    .filter((n) => !spec.nodes?.selector || selectorMatches(spec.nodes.selector, n.metadata?.labels))
    .sort((a, b) => compareText(a.metadata?.name ?? '', b.metadata?.name ?? ''));

  const notes: string[] = [];
  const addressesByNode = new Map(selectedNodes.map((n) => [n.metadata?.name ?? '', addressesOnNode(policy, n, notes)] as const));
  const claims: ExposureClaim[] = [];
  let portMatches = 0;
  const ref = { namespace: policy.metadata?.namespace ?? '', name: policy.metadata?.name ?? '' };
  for (const service of services) {
    const serviceName = service.metadata?.name ?? '';
    const families = serviceFamilies(service);
    for (const port of spec.ports) {
      const exists = (service.spec?.ports ?? []).some((p) => p.port === port.servicePort && (p.protocol ?? 'TCP') === port.protocol);
      if (!exists) {
        notes.push(`Service ${serviceName} has no ${port.protocol} port ${port.servicePort}`);
        continue;
      }
      portMatches++;
      for (const [node, addresses] of addressesByNode) {
        for (const { address, publicAddress } of addresses) {
          const family = parseAddr(address, LEGACY)?.family;
          if (!family || !families.has(family)) {
            notes.push(`${address} on node ${node} is ${family}, Service ${serviceName} is not; skipped`);
            continue;
          }
          const exposure: NodeNatPlanExposure = {
            policy: { ...ref },
            service: serviceName,
            servicePort: port.servicePort,
            address,
            port: port.externalPort,
            protocol: port.protocol,
            ...(sourceRanges.length > 0 ? { sourceRanges: [...sourceRanges] } : {}),
            sourceNAT: spec.sourceNAT ?? 'Masquerade',
            // The clients' port on the gateway is the port the rules match on the node.
            ...(gateway ? { gatewayMapping: { externalPort: port.externalPort } } : {}),
          };
          claims.push({ node, exposure, ...(publicAddress !== undefined ? { publicAddress } : {}) });
        }
      }
    }
  }
  if (portMatches === 0) return reject('PortNotFound', 'none of the selected Services has any of the listed ports', notes);
  if (claims.length === 0) {
    const message = selectedNodes.length === 0 ? 'no node matches spec.nodes.selector' : 'no selected node has a usable address';
    return reject('NoNodeAddress', message, notes);
  }
  return { claims, rejected: undefined, notes: [...new Set(notes)] };
}
