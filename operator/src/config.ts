/**
 * The operator's configuration: flags, each with an environment fallback (NATPLAN_*),
 * checked once at start. Wrong settings stop the operator with every error listed.
 */
import { flagReader, parseFlags, type FlagSpec } from '@natplan/controller-kit';
import { parseHostPort } from '@natplan/netaddr';
import type { LogLevel } from '@natplan/controller-kit';
import { compilePlannerConfig, DEFAULT_NODE_PORT_RANGE, DEFAULT_RESERVED_PORTS, type LocalTrafficMode, type PlannerConfig } from './planner/index.js';

export const OPERATOR_FLAGS: Record<string, FlagSpec> = {
  kubeconfig: { type: 'string', help: 'kubeconfig file; in-cluster config when empty', env: 'KUBECONFIG', default: '' },
  'startup-timeout': { type: 'duration', help: 'how long to wait at start for the API server to answer before exiting non-zero (the kubelet\'s restart backoff then retries)', env: 'NATPLAN_STARTUP_TIMEOUT', default: '2m' },
  mode: { type: 'string', help: 'replace: every Service naming no other proxy; complement: only Services labelled service.kubernetes.io/service-proxy-name=<proxy-name>', env: 'NATPLAN_MODE', default: 'replace' },
  'proxy-name': { type: 'string', help: 'value of service.kubernetes.io/service-proxy-name that selects natplan', env: 'NATPLAN_PROXY_NAME', default: 'natplan' },
  'external-ip-allow-list': { type: 'list', help: 'CIDRs a Service externalIP must be in to be programmed (CVE-2020-8554); empty = none', env: 'NATPLAN_EXTERNAL_IP_ALLOW_LIST', default: [] },
  'node-port-addresses': { type: 'list', help: 'CIDRs selecting node addresses that serve node ports, or primary (each node\'s primary InternalIP per family); empty = every InternalIP and ExternalIP', env: 'NATPLAN_NODE_PORT_ADDRESSES', default: [] },
  'detect-local-mode': { type: 'string', help: 'how agents recognise traffic from a node\'s pods: ClusterCIDR, NodeCIDR, BridgeInterface or InterfaceNamePrefix; empty = ClusterCIDR with --cluster-cidrs, else NodeCIDR', env: 'NATPLAN_DETECT_LOCAL_MODE', default: '' },
  'pod-bridge-interface': { type: 'string', help: 'the pods\' bridge, for --detect-local-mode=BridgeInterface', env: 'NATPLAN_POD_BRIDGE_INTERFACE', default: '' },
  'pod-interface-name-prefix': { type: 'string', help: 'prefix of the pods\' host-side interfaces, for --detect-local-mode=InterfaceNamePrefix', env: 'NATPLAN_POD_INTERFACE_NAME_PREFIX', default: '' },
  'cluster-cidrs': { type: 'list', help: 'the cluster\'s pod CIDRs (traffic from outside them is masqueraded)', env: 'NATPLAN_CLUSTER_CIDRS', default: [] },
  'service-cidrs': { type: 'list', help: 'the cluster\'s Service CIDRs (kube-apiserver --service-cluster-ip-range); packets to unallocated addresses in them are dropped', env: 'NATPLAN_SERVICE_CIDRS', default: [] },
  'masquerade-all': { type: 'bool', help: 'masquerade all Service traffic', env: 'NATPLAN_MASQUERADE_ALL', default: false },
  backend: { type: 'string', help: 'dataplane backend for the agents: auto, nftables or iptables', env: 'NATPLAN_BACKEND', default: 'auto' },
  'reserved-ports': { type: 'list', help: 'ports no NatExposurePolicy may claim, whatever a NatExposureGrant says', env: 'NATPLAN_RESERVED_PORTS', default: DEFAULT_RESERVED_PORTS.map(String) },
  'service-node-port-range': { type: 'string', help: 'the node-port range (kube-apiserver --service-node-port-range); never claimable by a NatExposurePolicy', env: 'NATPLAN_SERVICE_NODE_PORT_RANGE', default: DEFAULT_NODE_PORT_RANGE },
  'api-server-endpoints': { type: 'list', help: 'ip:port where the API server listens, besides the endpoints of Service default/kubernetes; never claimable', env: 'NATPLAN_API_SERVER_ENDPOINTS', default: [] },
  'max-endpoints-per-part': { type: 'int', help: 'endpoints per ServiceNatPlan object before a Service is split into parts', env: 'NATPLAN_MAX_ENDPOINTS_PER_PART', default: 100 },
  // Loopback unless asked: outside a pod network (a host-network run, a developer's machine)
  // nothing should be served to the node's networks by default. The chart sets 0.0.0.0.
  'metrics-address': { type: 'string', help: 'host:port of /metrics, /healthz, /readyz; 0.0.0.0:9090 (or :9090) serves every address', env: 'NATPLAN_METRICS_ADDRESS', default: '127.0.0.1:9090' },
  'leader-elect': { type: 'bool', help: 'run leader election (two replicas: one leads)', env: 'NATPLAN_LEADER_ELECT', default: true },
  'leader-election-namespace': { type: 'string', help: 'namespace of the Lease', env: 'POD_NAMESPACE', default: 'natplan-system' },
  'leader-election-name': { type: 'string', help: 'name of the Lease', env: 'NATPLAN_LEADER_ELECTION_NAME', default: 'natplan-operator' },
  'lease-duration': { type: 'duration', help: 'leader lease duration', env: 'NATPLAN_LEASE_DURATION', default: '15s' },
  identity: { type: 'string', help: 'this replica\'s identity in leader election', env: 'POD_NAME', default: '' },
  // Throughput of the first plan (one ServiceNatPlan per Service) is bounded by these three:
  // 10,000 Services planned in under 20 s need more than 500 writes/s, far above client-go's
  // 5/10. The limiter guards the API server against a runaway loop; overload is the server's
  // to signal (priority and fairness answers 429 with Retry-After, which pauses all writes).
  workers: { type: 'int', help: 'Services reconciled in parallel (bounds API writes in flight)', env: 'NATPLAN_WORKERS', default: 16 },
  'kube-api-qps': { type: 'int', help: 'API writes per second, sustained (client-side token bucket); 0 = unlimited', env: 'NATPLAN_KUBE_API_QPS', default: 1000 },
  'kube-api-burst': { type: 'int', help: 'API writes allowed at once above --kube-api-qps after a quiet period', env: 'NATPLAN_KUBE_API_BURST', default: 2000 },
  'log-level': { type: 'string', help: 'debug, info, warn or error', env: 'NATPLAN_LOG_LEVEL', default: 'info' },
};

export interface OperatorConfig {
  kubeconfig: string;
  startupTimeoutMs: number;
  planner: PlannerConfig;
  metrics: { host: string; port: number };
  leaderElection: { enabled: boolean; namespace: string; name: string; identity: string; leaseDurationMs: number };
  /** Workers of the Services controller, and the client-side limit on API writes. */
  throughput: { workers: number; qps: number; burst: number };
  logLevel: LogLevel;
}

const LOG_LEVELS: readonly LogLevel[] = ['debug', 'info', 'warn', 'error'];

/** The planner names its settings; a user typed flags, so errors name the flag. */
const FLAG_OF_SETTING: Record<string, string> = {
  proxyName: 'proxy-name', externalIPAllowList: 'external-ip-allow-list', nodePortAddressCIDRs: 'node-port-addresses', detectLocalMode: 'detect-local-mode', podBridgeInterface: 'pod-bridge-interface', podInterfaceNamePrefix: 'pod-interface-name-prefix', clusterCIDRs: 'cluster-cidrs', serviceCIDRs: 'service-cidrs',
  maxEndpointsPerPart: 'max-endpoints-per-part', reservedPorts: 'reserved-ports', nodePortRange: 'service-node-port-range', apiServerEndpoints: 'api-server-endpoints',
};

function asFlagError(error: string): string {
  const colon = error.indexOf(':');
  const setting = error.slice(0, colon);
  return `--${FLAG_OF_SETTING[setting] ?? setting}${error.slice(colon)}`;
}


export function parseOperatorConfig(argv: readonly string[], env: Record<string, string | undefined>, hostname: string): { ok: true; config: OperatorConfig } | { ok: false; errors: string[] } {
  const parsed = parseFlags(OPERATOR_FLAGS, argv, env);
  if (!parsed.ok) return parsed;
  const f = flagReader(parsed.values);
  const errors: string[] = [];
  const mode = f.string('mode');
  if (mode !== 'replace' && mode !== 'complement') errors.push(`--mode: ${JSON.stringify(mode)} is not replace or complement`);
  const backend = f.string('backend');
  if (!['auto', 'nftables', 'iptables'].includes(backend)) errors.push(`--backend: ${JSON.stringify(backend)} is not auto, nftables or iptables`);
  const reservedPorts = f.list('reserved-ports').map(Number);
  if (reservedPorts.some((p) => !Number.isInteger(p) || p < 1 || p > 65535)) errors.push('--reserved-ports: every entry must be a port number');
  const metrics = parseHostPort(f.string('metrics-address'));
  if (!metrics) errors.push(`--metrics-address: ${JSON.stringify(f.string('metrics-address'))} is not host:port`);
  const logLevel = f.string('log-level') as LogLevel;
  if (!LOG_LEVELS.includes(logLevel)) errors.push(`--log-level: ${JSON.stringify(logLevel)} is not one of ${LOG_LEVELS.join(', ')}`);
  const planner = compilePlannerConfig({
    mode: mode as 'replace',
    proxyName: f.string('proxy-name'),
    externalIPAllowList: f.list('external-ip-allow-list'),
    nodePortAddressCIDRs: f.list('node-port-addresses'),
    clusterCIDRs: f.list('cluster-cidrs'),
    ...(f.string('detect-local-mode') ? { detectLocalMode: f.string('detect-local-mode') as LocalTrafficMode } : {}),
    ...(f.string('pod-bridge-interface') ? { podBridgeInterface: f.string('pod-bridge-interface') } : {}),
    ...(f.string('pod-interface-name-prefix') ? { podInterfaceNamePrefix: f.string('pod-interface-name-prefix') } : {}),
    serviceCIDRs: f.list('service-cidrs'),
    masqueradeAll: f.bool('masquerade-all'),
    backend: backend as 'auto',
    reservedPorts,
    nodePortRange: f.string('service-node-port-range'),
    apiServerEndpoints: f.list('api-server-endpoints'),
    maxEndpointsPerPart: f.number('max-endpoints-per-part'),
  });
  for (const [flag, min] of [['workers', 1], ['kube-api-qps', 0], ['kube-api-burst', 1]] as const) {
    if (f.number(flag) < min) errors.push(`--${flag}: must be at least ${min}`);
  }
  if (!planner.ok) errors.push(...planner.errors.map(asFlagError));
  if (errors.length > 0 || !planner.ok || !metrics) return { ok: false, errors };
  return {
    ok: true,
    config: {
      kubeconfig: f.string('kubeconfig'),
      startupTimeoutMs: f.number('startup-timeout'),
      planner: planner.config,
      metrics,
      leaderElection: {
        enabled: f.bool('leader-elect'),
        namespace: f.string('leader-election-namespace'),
        name: f.string('leader-election-name'),
        identity: f.string('identity') || hostname,
        leaseDurationMs: f.number('lease-duration'),
      },
      throughput: { workers: f.number('workers'), qps: f.number('kube-api-qps'), burst: f.number('kube-api-burst') },
      logLevel,
    },
  };
}
