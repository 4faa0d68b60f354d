// Operator-wide settings the planner needs, parsed once so that planning 10k Services does
// not re-parse the same CIDR lists 10k times, and so that a wrong setting stops the
// operator at start-up instead of being dropped silently.
import { canonicalAddr, canonicalPrefix, LEGACY, parsePrefix, type Prefix } from '@natplan/netaddr';

/** Which Services natplan programs (DESIGN.md §2, coexistence with kube-proxy). */
export type ProxyMode = 'replace' | 'complement';

/** Endpoints per ServiceNatPlan part unless configured: the EndpointSlice default, so a part costs what a slice costs. */
export const DEFAULT_MAX_ENDPOINTS_PER_PART = 100;
/** The ServiceNatPlan schema's maxItems for endpoints. */
export const SCHEMA_MAX_ENDPOINTS_PER_PART = 1000;
/**
 * Ports no exposure may take on a node, whatever a grant says: SSH, etcd, the API server,
 * the operator's metrics/health port (9090), the kubelet, kube-proxy's metrics and healthz
 * (10249, 10256; natplan's kube-proxy-compatible healthz uses 10256 too), the controller
 * ports and the agent's metrics/health port (10261). Capturing them would cut the node
 * off the cluster or blind its monitoring.
 */
export const DEFAULT_RESERVED_PORTS: readonly number[] = [22, 2379, 2380, 6443, 9090, 10249, 10250, 10256, 10257, 10259, 10261];
/** kube-apiserver's default --service-node-port-range. */
export const DEFAULT_NODE_PORT_RANGE = '30000-32767';

/** kube-proxy's --detect-local-mode values: how traffic from a node's pods is recognised. */
export type LocalTrafficMode = 'ClusterCIDR' | 'NodeCIDR' | 'BridgeInterface' | 'InterfaceNamePrefix';
export const LOCAL_TRAFFIC_MODES: readonly LocalTrafficMode[] = ['ClusterCIDR', 'NodeCIDR', 'BridgeInterface', 'InterfaceNamePrefix'];
/** The NodeNatPlan schema's pattern for interface names and prefixes (no wildcard, no quote). */
const INTERFACE_NAME = /^[A-Za-z0-9_.-]{1,15}$/;

/** An inclusive port range. */
export interface PortRange { readonly from: number; readonly to: number }
/** An address and port, e.g. where the API server listens. */
export interface AddressPort { readonly address: string; readonly port: number }

/** Settings as the operator's flags or Helm values give them. */
export interface PlannerSettings {
  /** `replace`: every Service naming no other proxy; `complement`: only Services labelled for natplan. */
  mode: ProxyMode;
  /** The value of `service.kubernetes.io/service-proxy-name` that selects natplan. */
  proxyName: string;
  /**
   * CIDRs a Service's externalIPs must fall in to be programmed. Empty means none are:
   * externalIPs let any namespace capture any address (CVE-2020-8554), so they are opt-in.
   */
  externalIPAllowList: readonly string[];
  /** Endpoints per ServiceNatPlan part (1..1000); default 100. */
  maxEndpointsPerPart?: number;
  /**
   * CIDRs selecting which node addresses serve node ports (kube-proxy's
   * --nodeport-addresses), or the single value `primary`: the node's primary address of
   * each family. Empty or absent: every InternalIP and ExternalIP of the node.
   */
  nodePortAddressCIDRs?: readonly string[];
  /**
   * How agents recognise traffic from the node's pods (kube-proxy's --detect-local-mode).
   * Default: ClusterCIDR when clusterCIDRs are given, else NodeCIDR (README, "Local traffic").
   */
  detectLocalMode?: LocalTrafficMode;
  /** The pods' bridge for BridgeInterface (kube-proxy's --pod-bridge-interface). */
  podBridgeInterface?: string;
  /** The prefix of the pods' host-side interfaces for InterfaceNamePrefix (--pod-interface-name-prefix). */
  podInterfaceNamePrefix?: string;
  /** The cluster's pod CIDRs, copied into every NodeNatPlan for masquerade decisions. */
  clusterCIDRs: readonly string[];
  /** The cluster's Service CIDRs (kube-apiserver --service-cluster-ip-range), one per family. */
  serviceCIDRs?: readonly string[];
  /** Masquerade all Service traffic (kube-proxy's --masquerade-all). */
  masqueradeAll: boolean;
  /** Dataplane backend preference for the agents. */
  backend: 'auto' | 'nftables' | 'iptables';
  /** Ports exposures may not use; default {@link DEFAULT_RESERVED_PORTS}. */
  reservedPorts?: readonly number[];
  /** The node-port range ("from-to", kube-apiserver's --service-node-port-range); never claimable. Default {@link DEFAULT_NODE_PORT_RANGE}. */
  nodePortRange?: string;
  /**
   * Where the API server listens ("host:port", "[v6]:port"), besides what the `kubernetes`
   * Service's EndpointSlices in `default` say (the shell adds those); never claimable.
   */
  apiServerEndpoints?: readonly string[];
}

/** Settings with their CIDRs parsed; build with {@link compilePlannerConfig}. */
export interface PlannerConfig {
  readonly mode: ProxyMode;
  readonly proxyName: string;
  readonly externalIPAllowList: readonly Prefix[];
  readonly maxEndpointsPerPart: number;
  readonly nodePortAddressCIDRs: readonly Prefix[];
  /** `--nodeport-addresses primary`: each node's primary address per family, not CIDRs. */
  readonly nodePortAddressesPrimary: boolean;
  /** The resolved detector; the interface name or prefix for the interface modes. */
  readonly localTraffic: { readonly mode: LocalTrafficMode; readonly interfaceName?: string };
  readonly clusterCIDRs: readonly string[];
  readonly serviceCIDRs: readonly string[];
  readonly masqueradeAll: boolean;
  readonly backend: 'auto' | 'nftables' | 'iptables';
  readonly reservedPorts: ReadonlySet<number>;
  readonly nodePortRange: PortRange;
  readonly apiServerEndpoints: readonly AddressPort[];
}

/** What planNode needs. */
export type NodePlannerConfig = Pick<PlannerConfig, 'nodePortAddressCIDRs' | 'nodePortAddressesPrimary' | 'localTraffic' | 'clusterCIDRs' | 'serviceCIDRs' | 'masqueradeAll' | 'backend'>;
/** What resolveExposures needs. */
export type ExposureConfig = Pick<PlannerConfig, 'mode' | 'nodePortAddressCIDRs' | 'nodePortAddressesPrimary' | 'reservedPorts' | 'nodePortRange' | 'serviceCIDRs' | 'apiServerEndpoints'>;

/** Either a usable config or the list of settings that are wrong; the shell refuses to start on errors. */
export type CompiledConfig =
  | { ok: true; config: PlannerConfig }
  | { ok: false; errors: string[] };

function parseList(name: string, texts: readonly string[], errors: string[]): Prefix[] {
  const out: Prefix[] = [];
  for (const text of texts) {
    const cidr = parsePrefix(text, LEGACY);
    if (cidr) out.push(cidr);
    else errors.push(`${name}: ${JSON.stringify(text)} is not a CIDR`);
  }
  return out;
}

/** "30000-32767" (or one port) as a range; undefined when it is not one. */
export function parsePortRange(text: string): PortRange | undefined {
  const m = /^\s*(\d{1,5})\s*(?:-\s*(\d{1,5})\s*)?$/.exec(text);
  if (!m) return undefined;
  const from = Number(m[1]);
  const to = m[2] === undefined ? from : Number(m[2]);
  return from >= 1 && to <= 65_535 && from <= to ? { from, to } : undefined;
}

/** "host:port" or "[v6]:port" with an IP host, canonicalised; undefined otherwise. */
export function parseAddressPort(text: string): AddressPort | undefined {
  const m = /^\s*(?:\[([0-9A-Fa-f:.]+)\]|([0-9.]+)):(\d{1,5})\s*$/.exec(text);
  const address = canonicalAddr(m?.[1] ?? m?.[2] ?? '', LEGACY);
  const port = Number(m?.[3]);
  return address !== undefined && port >= 1 && port <= 65_535 ? { address, port } : undefined;
}

/** Parses and checks the settings; invalid values are errors, not silently dropped. */
export function compilePlannerConfig(settings: PlannerSettings): CompiledConfig {
  const errors: string[] = [];
  if (settings.proxyName.trim() === '') errors.push('proxyName: must not be empty');
  const externalIPAllowList = parseList('externalIPAllowList', settings.externalIPAllowList, errors);
  const nodePortTexts = settings.nodePortAddressCIDRs ?? [];
  const nodePortAddressesPrimary = nodePortTexts.some((t) => t.trim() === 'primary');
  if (nodePortAddressesPrimary && nodePortTexts.length > 1) errors.push('nodePortAddressCIDRs: primary cannot be combined with CIDRs');
  const nodePortAddressCIDRs = nodePortAddressesPrimary ? [] : parseList('nodePortAddressCIDRs', nodePortTexts, errors);
  const clusterCIDRs: string[] = [];
  for (const text of settings.clusterCIDRs) {
    const canonical = canonicalPrefix(text, LEGACY);
    if (canonical) clusterCIDRs.push(canonical);
    else errors.push(`clusterCIDRs: ${JSON.stringify(text)} is not a CIDR`);
  }
  if (clusterCIDRs.length > 16) errors.push('clusterCIDRs: at most 16 (NodeNatPlan schema)');
  const serviceCIDRs: string[] = [];
  for (const text of settings.serviceCIDRs ?? []) {
    const canonical = canonicalPrefix(text, LEGACY);
    if (canonical) serviceCIDRs.push(canonical);
    else errors.push(`serviceCIDRs: ${JSON.stringify(text)} is not a CIDR`);
  }
  if (serviceCIDRs.length > 2) errors.push('serviceCIDRs: at most 2, one per family (NodeNatPlan schema)');
  const localTraffic = compileLocalTraffic(settings, clusterCIDRs, errors);
  const maxEndpointsPerPart = settings.maxEndpointsPerPart ?? DEFAULT_MAX_ENDPOINTS_PER_PART;
  if (!Number.isInteger(maxEndpointsPerPart) || maxEndpointsPerPart < 1 || maxEndpointsPerPart > SCHEMA_MAX_ENDPOINTS_PER_PART) {
    errors.push(`maxEndpointsPerPart: must be an integer from 1 to ${SCHEMA_MAX_ENDPOINTS_PER_PART}`);
  }
  const reservedPorts = settings.reservedPorts ?? DEFAULT_RESERVED_PORTS;
  const badPort = reservedPorts.find((p) => !Number.isInteger(p) || p < 1 || p > 65_535);
  if (badPort !== undefined) errors.push(`reservedPorts: ${badPort} is not a port`);
  const nodePortRange = parsePortRange(settings.nodePortRange ?? DEFAULT_NODE_PORT_RANGE);
  if (!nodePortRange) errors.push(`nodePortRange: ${JSON.stringify(settings.nodePortRange)} is not a port range like 30000-32767`);
  const apiServerEndpoints: AddressPort[] = [];
  for (const text of settings.apiServerEndpoints ?? []) {
    const parsed = parseAddressPort(text);
    if (parsed) apiServerEndpoints.push(parsed);
    else errors.push(`apiServerEndpoints: ${JSON.stringify(text)} is not ip:port`);
  }
  if (errors.length > 0 || !nodePortRange) return { ok: false, errors };
  return {
    ok: true,
    config: {
      mode: settings.mode,
      proxyName: settings.proxyName,
      externalIPAllowList,
      maxEndpointsPerPart,
      nodePortAddressCIDRs,
      nodePortAddressesPrimary,
      localTraffic,
      clusterCIDRs,
      serviceCIDRs,
      masqueradeAll: settings.masqueradeAll,
      backend: settings.backend,
      reservedPorts: new Set(reservedPorts),
      nodePortRange,
      apiServerEndpoints,
    },
  };
}

/**
 * The detector the agents use. kube-proxy defaults to ClusterCIDR and detects nothing when
 * no cluster CIDR is given; natplan then falls back to NodeCIDR, which needs no setting and
 * keeps the short-circuit for the node's own pods. An interface mode needs its name.
 */
function compileLocalTraffic(settings: PlannerSettings, clusterCIDRs: readonly string[], errors: string[]): PlannerConfig['localTraffic'] {
  const mode = settings.detectLocalMode ?? (clusterCIDRs.length > 0 ? 'ClusterCIDR' : 'NodeCIDR');
  if (!LOCAL_TRAFFIC_MODES.includes(mode)) {
    errors.push(`detectLocalMode: ${JSON.stringify(mode)} is not one of ${LOCAL_TRAFFIC_MODES.join(', ')}`);
    return { mode: 'NodeCIDR' };
  }
  if (mode === 'ClusterCIDR' && clusterCIDRs.length === 0) errors.push('detectLocalMode: ClusterCIDR needs clusterCIDRs');
  const named = (setting: 'podBridgeInterface' | 'podInterfaceNamePrefix'): PlannerConfig['localTraffic'] => {
    const name = settings[setting] ?? '';
    if (!INTERFACE_NAME.test(name)) errors.push(`${setting}: ${JSON.stringify(name)} is not an interface name (1-15 of A-Z a-z 0-9 _ . -), required with ${mode}`);
    return { mode, interfaceName: name };
  };
  if (mode === 'BridgeInterface') return named('podBridgeInterface');
  if (mode === 'InterfaceNamePrefix') return named('podInterfaceNamePrefix');
  return { mode };
}
