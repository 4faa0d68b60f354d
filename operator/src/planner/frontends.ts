// The Service-level half of a plan: addresses traffic arrives on, ports, affinity and
// traffic policies, resolved the way kube-proxy's ServicePort resolves them, with the
// operator's allow-list applied to externalIPs.
import type { V1Service, V1ServicePort } from '@kubernetes/client-node';
import type { ServiceNatPlanPort, ServiceNatPlanSessionAffinity, ServiceNatPlanSpec } from '@natplan/api';
import type { PlannerConfig } from './config.js';
import { anyPrefixContains, formatAddr, formatPrefix, type IPFamily, LEGACY, parseAddr, parsePrefix } from '@natplan/netaddr';
import type { ServiceHandling } from './selection.js';
import type { PlanWarning } from './warnings.js';

export type Protocol = 'TCP' | 'UDP' | 'SCTP';
const PROTOCOLS: readonly string[] = ['TCP', 'UDP', 'SCTP'];

/** kube-proxy's default ClientIP affinity timeout (3 hours), used when the Service names none. */
export const DEFAULT_AFFINITY_TIMEOUT_SECONDS = 10_800;
/** Older clients set LB source ranges with this annotation; the spec field wins when both exist. */
export const LB_SOURCE_RANGES_ANNOTATION = 'service.beta.kubernetes.io/load-balancer-source-ranges';

/** Part-0 fields of a plan: everything but the endpoints. */
export type FrontendFields = Omit<ServiceNatPlanSpec, 'service' | 'part' | 'endpoints' | 'endpointCount' | 'triggerTime'>;

export interface Frontends {
  readonly fields: FrontendFields;
  /** Families whose endpoints the plan carries. */
  readonly families: ReadonlySet<IPFamily>;
  readonly warnings: readonly PlanWarning[];
}

/** The families a Service serves: spec.ipFamilies, else those of its cluster IPs, else both. */
export function serviceFamilies(service: V1Service): Set<IPFamily> {
  const declared = (service.spec?.ipFamilies ?? []).filter((f): f is IPFamily => f === 'IPv4' || f === 'IPv6');
  if (declared.length > 0) return new Set(declared);
  const fromIPs = clusterIPTexts(service).map((ip) => parseAddr(ip, LEGACY)?.family).filter((f): f is IPFamily => f !== undefined);
  return new Set(fromIPs.length > 0 ? fromIPs : ['IPv4', 'IPv6']);
}

function clusterIPTexts(service: V1Service): string[] {
  const spec = service.spec;
  const list = spec?.clusterIPs && spec.clusterIPs.length > 0 ? spec.clusterIPs : spec?.clusterIP ? [spec.clusterIP] : [];
  return list.filter((ip) => ip !== 'None' && ip !== '');
}

/** Canonical addresses of the given families, first occurrence wins; others become warnings. */
function addressesOfFamilies(texts: readonly string[], families: ReadonlySet<IPFamily>, what: string, warnings: PlanWarning[]): string[] {
  const out: string[] = [];
  for (const text of texts) {
    const ip = parseAddr(text, LEGACY);
    if (!ip) {
      warnings.push({ reason: 'InvalidAddress', message: `${what} ${JSON.stringify(text)} is not an IP address` });
      continue;
    }
    if (!families.has(ip.family)) {
      warnings.push({ reason: 'AddressFamilyMismatch', message: `${what} ${text} is ${ip.family}, the Service is not` });
      continue;
    }
    const canonical = formatAddr(ip);
    if (!out.includes(canonical)) out.push(canonical);
  }
  return out;
}

function allowedExternalIPs(service: V1Service, config: PlannerConfig, families: ReadonlySet<IPFamily>, warnings: PlanWarning[]): string[] {
  const candidates = addressesOfFamilies(service.spec?.externalIPs ?? [], families, 'externalIP', warnings);
  return candidates.filter((text) => {
    const ip = parseAddr(text, LEGACY);
    const allowed = ip !== undefined && anyPrefixContains(config.externalIPAllowList, ip);
    if (!allowed) warnings.push({ reason: 'ExternalIPNotAllowed', message: `externalIP ${text} is outside the operator's allow-list` });
    return allowed;
  });
}

/** LB ingress IPs the nodes must capture; ipMode Proxy means the LB itself proxies, so nodes must not. */
function loadBalancerIPs(service: V1Service, families: ReadonlySet<IPFamily>, warnings: PlanWarning[]): string[] {
  if (service.spec?.type !== 'LoadBalancer') return [];
  const ingress = service.status?.loadBalancer?.ingress ?? [];
  const ips = ingress.filter((i) => i.ip && i.ipMode !== 'Proxy').map((i) => i.ip as string);
  return addressesOfFamilies(ips, families, 'load-balancer ingress IP', warnings);
}

function sourceRanges(service: V1Service, warnings: PlanWarning[]): string[] {
  if (service.spec?.type !== 'LoadBalancer') return [];
  const fromSpec = service.spec.loadBalancerSourceRanges ?? [];
  const annotation = service.metadata?.annotations?.[LB_SOURCE_RANGES_ANNOTATION];
  const texts = fromSpec.length > 0 ? fromSpec : (annotation ?? '').split(',').filter((t) => t.trim() !== '');
  const out: string[] = [];
  // Both families are kept: a non-empty list is an allow-list for every family, so an agent
  // seeing no range of its family must allow nobody rather than everybody.
  for (const text of texts) {
    const cidr = parsePrefix(text.trim(), LEGACY);
    if (!cidr) {
      warnings.push({ reason: 'InvalidSourceRange', message: `load-balancer source range ${JSON.stringify(text)} is not a CIDR` });
      continue;
    }
    const canonical = formatPrefix(cidr);
    if (!out.includes(canonical)) out.push(canonical);
  }
  return out;
}

function planPort(port: V1ServicePort, withNodePort: boolean, warnings: PlanWarning[]): ServiceNatPlanPort | undefined {
  const protocol = port.protocol ?? 'TCP';
  if (!PROTOCOLS.includes(protocol)) {
    warnings.push({ reason: 'UnsupportedProtocol', message: `port ${port.port}: protocol ${protocol} is not supported` });
    return undefined;
  }
  const planned: ServiceNatPlanPort = { name: port.name ?? '', protocol: protocol as Protocol, port: port.port };
  if (withNodePort && port.nodePort) planned.nodePort = port.nodePort;
  return planned;
}

function sessionAffinity(service: V1Service): ServiceNatPlanSessionAffinity {
  if (service.spec?.sessionAffinity !== 'ClientIP') return { type: 'None' };
  const timeout = service.spec.sessionAffinityConfig?.clientIP?.timeoutSeconds ?? DEFAULT_AFFINITY_TIMEOUT_SECONDS;
  return { type: 'ClientIP', timeoutSeconds: Math.min(Math.max(Math.trunc(timeout), 1), 86_400) };
}

/** Resolves the frontends of a Service that is `full` or `exposureOnly`. */
export function planFrontends(service: V1Service, config: PlannerConfig, handling: ServiceHandling): Frontends {
  const warnings: PlanWarning[] = [];
  const spec = service.spec;
  const families = serviceFamilies(service);
  const full = handling.kind === 'full';
  const hasNodePorts = full && (spec?.type === 'NodePort' || spec?.type === 'LoadBalancer');
  const ports = (spec?.ports ?? []).map((p) => planPort(p, hasNodePorts, warnings)).filter((p): p is ServiceNatPlanPort => p !== undefined);
  const fields: FrontendFields = { ipFamilies: [...families].sort(), ports, sessionAffinity: sessionAffinity(service) };
  if (!full) return { fields, families, warnings };

  const clusterIPs = addressesOfFamilies(clusterIPTexts(service), families, 'clusterIP', warnings);
  const externalIPs = allowedExternalIPs(service, config, families, warnings);
  const lbIPs = loadBalancerIPs(service, families, warnings);
  const ranges = sourceRanges(service, warnings);
  // kube-proxy applies the Local external policy only to Services reachable from outside;
  // resolving it here keeps that rule out of every agent.
  const externallyReachable = externalIPs.length > 0 || lbIPs.length > 0 || ports.some((p) => p.nodePort !== undefined);
  const externalLocal = externallyReachable && spec?.externalTrafficPolicy === 'Local';

  if (clusterIPs.length > 0) fields.clusterIPs = clusterIPs;
  if (externalIPs.length > 0) fields.externalIPs = externalIPs;
  if (lbIPs.length > 0) fields.loadBalancerIPs = lbIPs;
  fields.externalTrafficPolicy = externalLocal ? 'Local' : 'Cluster';
  fields.internalTrafficPolicy = spec?.internalTrafficPolicy === 'Local' ? 'Local' : 'Cluster';
  if (externalLocal && spec?.type === 'LoadBalancer' && spec.healthCheckNodePort) fields.healthCheckNodePort = spec.healthCheckNodePort;
  if (ranges.length > 0 && lbIPs.length > 0) fields.loadBalancerSourceRanges = ranges;
  return { fields, families, warnings };
}
