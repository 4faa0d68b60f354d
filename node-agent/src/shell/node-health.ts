/**
 * What the node answers about itself to load balancers, in the node's network: kube-proxy's
 * /healthz and /livez, and the health-check node ports of Local load balancers. The agent
 * tells it when a sync is queued and when one succeeded; everything else is here, so the
 * agent's wiring stays a few lines.
 */
import type { Logger } from '@natplan/controller-kit';
import type { ExecTarget } from '../exec/index.js';
import type { RenderInput } from '../render/index.js';
import { HealthCheckServers, healthChecksFor, newPartFactsCache } from './health-checks.js';
import type { IPFamily } from '@natplan/netaddr';
import { listenersFor, type Listeners, type Listening } from './listeners.js';
import { ProxyHealth, serveProxyHealth } from './proxy-health.js';

export interface NodeHealthOptions {
  /** The node's network: 'host', or the namespace of an agent started with --netns. */
  target: ExecTarget;
  logger: Logger;
  healthz: { host: string; port: number } | undefined;
  healthCheckServers: boolean;
  /** kube-proxy's rule: a change pending for twice the sync period is unhealthy. */
  timeoutMs: number;
  families: () => IPFamily[];
  nodeEligible: () => boolean;
}

export class NodeHealth {
  readonly proxy: ProxyHealth;
  private readonly listeners: Listeners;
  private readonly healthChecks: HealthCheckServers | undefined;
  private readonly partFacts = newPartFactsCache();
  private healthz: Listening | undefined;

  constructor(private readonly options: NodeHealthOptions) {
    this.listeners = listenersFor(options.target, options.logger);
    this.proxy = new ProxyHealth({ timeoutMs: options.timeoutMs, families: options.families, nodeEligible: options.nodeEligible });
    this.healthChecks = options.healthCheckServers ? new HealthCheckServers(options.logger, this.listeners.listen, () => this.proxy.healthy()) : undefined;
  }

  /** Opens /healthz; a port held by someone else (a kube-proxy beside us) is logged, not fatal. */
  async start(): Promise<void> {
    const { healthz, logger } = this.options;
    if (!healthz) return;
    this.healthz = await serveProxyHealth(this.listeners.listen, healthz.host, healthz.port, this.proxy)
      .catch((err: unknown) => { logger.error('healthz port unavailable; /healthz and /livez are not served', { ...healthz, err }); return undefined; });
  }

  queued(): void {
    this.proxy.queued();
  }

  /** A sync of `input` succeeded: the proxy is current and the health checks count its endpoints. */
  async synced(input: RenderInput): Promise<void> {
    this.proxy.updated();
    await this.healthChecks?.update(healthChecksFor(input, this.partFacts));
  }

  async stop(): Promise<void> {
    await this.healthz?.close();
    await this.healthChecks?.close();
    await this.listeners.stop();
  }
}
