/**
 * The node agent's configuration: flags with environment fallbacks, checked at start.
 */
import { flagReader, parseFlags, type FlagSpec } from '@natplan/controller-kit';
import { parseHostPort } from '@natplan/netaddr';
import type { LogLevel } from '@natplan/controller-kit';

export const AGENT_FLAGS: Record<string, FlagSpec> = {
  'node-name': { type: 'string', help: 'the Node this agent enforces (its NodeNatPlan has this name)', env: 'NODE_NAME', default: '' },
  kubeconfig: { type: 'string', help: 'kubeconfig file; in-cluster config when empty', env: 'KUBECONFIG', default: '' },
  'startup-timeout': { type: 'duration', help: 'how long to wait at start for the API server to answer before exiting non-zero (the kubelet\'s restart backoff then retries)', env: 'NATPLAN_STARTUP_TIMEOUT', default: '2m' },
  // Loopback by default, like kube-proxy's metrics: with host networking 0.0.0.0 would
  // serve them to every network the node is on. The kubelet probes 127.0.0.1.
  'metrics-address': { type: 'string', help: 'host:port of /metrics, /healthz, /readyz; 0.0.0.0:10261 (or :10261) serves every address of the node', env: 'NATPLAN_METRICS_ADDRESS', default: '127.0.0.1:10261' },
  // Every address, unlike metrics, as kube-proxy's: cloud load balancers probe /healthz on
  // the node's own addresses for externalTrafficPolicy: Cluster Services, so it must be
  // reachable from outside the node. It tells only whether rules are being synced.
  'healthz-bind-address': { type: 'string', help: 'host:port of kube-proxy\'s /healthz and /livez, in the node\'s network; empty turns them off (e.g. beside a kube-proxy that holds 10256)', env: 'NATPLAN_HEALTHZ_BIND_ADDRESS', default: '0.0.0.0:10256' },
  'min-sync-period': { type: 'duration', help: 'sync pacing like kube-proxy minSyncPeriod: a burst of changes gets two syncs at once, then one per period; changes in between are coalesced', env: 'NATPLAN_MIN_SYNC_PERIOD', default: '1s' },
  'resync-period': { type: 'duration', help: 'full resync that repairs drift (a flushed or edited table)', env: 'NATPLAN_RESYNC_PERIOD', default: '5m' },
  'kernel-check-period': { type: 'duration', help: 'how often an idle agent checks that the kernel still holds its rules (a small constant read; drift is repaired at once)', env: 'NATPLAN_KERNEL_CHECK_PERIOD', default: '10s' },
  'enforcement-timeout': { type: 'duration', help: 'plan changes not enforced (confirmed in the kernel) within this long set Degraded=EnforcementStalled', env: 'NATPLAN_ENFORCEMENT_TIMEOUT', default: '30s' },
  'status-period': { type: 'duration', help: 'least time between status writes that change no condition', env: 'NATPLAN_STATUS_PERIOD', default: '1m' },
  netns: { type: 'string', help: 'program this network namespace instead of the agent\'s own (tests and the sandbox)', env: 'NATPLAN_NETNS', default: '' },
  'health-check-servers': { type: 'bool', help: 'serve health-check node ports of Local load balancers', env: 'NATPLAN_HEALTH_CHECK_SERVERS', default: true },
  // Exposures of policies with fromNode Gateway: the agent asks the NAT gateway in front of
  // the node (PCP, then NAT-PMP, then UPnP IGD) to forward their ports.
  gateway: { type: 'string', help: 'the NAT gateway to ask for port mappings: auto (the next hop of the IPv4 default route), an IPv4 address, or none (never ask)', env: 'NATPLAN_GATEWAY', default: 'auto' },
  'gateway-lifetime': { type: 'duration', help: 'lifetime asked for each gateway port mapping (the gateway may grant less); renewed at half of what it granted', env: 'NATPLAN_GATEWAY_LIFETIME', default: '1h' },
  'gateway-retry': { type: 'duration', help: 'a refused gateway port mapping, or a gateway not found, is asked for again after this long', env: 'NATPLAN_GATEWAY_RETRY', default: '1m' },
  'gateway-state-file': { type: 'string', help: 'where the agent lists the gateway port mappings it holds, so cleanup can delete them; empty keeps no list', env: 'NATPLAN_GATEWAY_STATE_FILE', default: '/var/lib/natplan/gateway-mappings.json' },
  cleanup: { type: 'bool', help: 'remove everything the agent ever installed (both backends, and the gateway port mappings it holds) and exit', default: false },
  'log-level': { type: 'string', help: 'debug, info, warn or error', env: 'NATPLAN_LOG_LEVEL', default: 'info' },
};

export interface AgentConfig {
  nodeName: string;
  kubeconfig: string;
  startupTimeoutMs: number;
  metrics: { host: string; port: number };
  /** kube-proxy's /healthz and /livez; undefined when turned off. */
  healthz: { host: string; port: number } | undefined;
  minSyncPeriodMs: number;
  resyncPeriodMs: number;
  kernelCheckPeriodMs: number;
  enforcementTimeoutMs: number;
  statusPeriodMs: number;
  netns: string | undefined;
  healthCheckServers: boolean;
  /** 'auto', an IPv4 address, or 'none'. */
  gateway: string;
  gatewayLifetimeSeconds: number;
  gatewayRetryMs: number;
  /** Empty: no list kept. */
  gatewayStateFile: string;
  cleanup: boolean;
  logLevel: LogLevel;
}

export function parseAgentConfig(argv: readonly string[], env: Record<string, string | undefined>): { ok: true; config: AgentConfig } | { ok: false; errors: string[] } {
  const parsed = parseFlags(AGENT_FLAGS, argv, env);
  if (!parsed.ok) return parsed;
  const f = flagReader(parsed.values);
  const errors: string[] = [];
  const cleanup = f.bool('cleanup');
  const nodeName = f.string('node-name');
  if (!nodeName && !cleanup) errors.push('--node-name (or NODE_NAME) is required');
  const metrics = parseHostPort(f.string('metrics-address'));
  if (!metrics) errors.push(`--metrics-address: ${JSON.stringify(f.string('metrics-address'))} is not host:port`);
  const healthzText = f.string('healthz-bind-address');
  const healthz = healthzText ? parseHostPort(healthzText) : undefined;
  if (healthzText && !healthz) errors.push(`--healthz-bind-address: ${JSON.stringify(healthzText)} is not host:port`);
  const logLevel = f.string('log-level') as LogLevel;
  if (!['debug', 'info', 'warn', 'error'].includes(logLevel)) errors.push(`--log-level: ${JSON.stringify(logLevel)} is not one of debug, info, warn, error`);
  const minSyncPeriodMs = f.number('min-sync-period');
  const resyncPeriodMs = f.number('resync-period');
  if (resyncPeriodMs < minSyncPeriodMs) errors.push('--resync-period must not be shorter than --min-sync-period');
  const kernelCheckPeriodMs = f.number('kernel-check-period');
  const enforcementTimeoutMs = f.number('enforcement-timeout');
  if (kernelCheckPeriodMs <= 0) errors.push('--kernel-check-period must be positive');
  if (enforcementTimeoutMs <= 0) errors.push('--enforcement-timeout must be positive');
  const gateway = f.string('gateway');
  if (gateway !== 'auto' && gateway !== 'none' && !/^\d{1,3}(\.\d{1,3}){3}$/.test(gateway)) errors.push(`--gateway: ${JSON.stringify(gateway)} is not auto, none or an IPv4 address`);
  const gatewayLifetimeSeconds = Math.round(f.number('gateway-lifetime') / 1000);
  if (gatewayLifetimeSeconds < 1) errors.push('--gateway-lifetime must be at least 1s');
  const gatewayRetryMs = f.number('gateway-retry');
  if (gatewayRetryMs < 1000) errors.push('--gateway-retry must be at least 1s');
  if (errors.length > 0 || !metrics) return { ok: false, errors };
  return {
    ok: true,
    config: {
      nodeName, kubeconfig: f.string('kubeconfig'), startupTimeoutMs: f.number('startup-timeout'), metrics, healthz, minSyncPeriodMs, resyncPeriodMs, kernelCheckPeriodMs, enforcementTimeoutMs,
      statusPeriodMs: f.number('status-period'), netns: f.string('netns') || undefined,
      healthCheckServers: f.bool('health-check-servers'), cleanup, logLevel,
      gateway, gatewayLifetimeSeconds, gatewayRetryMs, gatewayStateFile: f.string('gateway-state-file'),
    },
  };
}
