/**
 * kube-proxy's `/healthz` and `/livez` (port 10256): cloud load balancers probe `/healthz`
 * on every node for `externalTrafficPolicy: Cluster` Services and send traffic only to
 * nodes answering 200. The semantics are kube-proxy's: a sync request marks changes as
 * pending; a successful sync clears them. The proxy is unhealthy when a change has been
 * pending longer than the timeout (kube-proxy: twice its sync period), i.e. when syncs
 * stall or keep failing, and healthy while nothing waits, however long ago the last sync
 * was. `/healthz` also answers 503 while the node is leaving (here: its NodeNatPlan is
 * being deleted); `/livez` does not look at the node.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { IPFamily } from '@natplan/netaddr';
import type { Listen, Listening } from './listeners.js';

export interface ProxyHealthOptions {
  /** A change pending longer than this makes the proxy unhealthy. */
  timeoutMs: number;
  /** The families whose status the body reports (one sync programs them all). */
  families: () => IPFamily[];
  /** False while the node is leaving; only /healthz reads it. */
  nodeEligible: () => boolean;
  now?: () => number;
}

export interface HealthAnswer { status: 200 | 503; body: Record<string, unknown> }

export class ProxyHealth {
  private lastUpdated: number;
  private oldestPending: number | undefined;
  private readonly now: () => number;

  constructor(private readonly options: ProxyHealthOptions) {
    this.now = options.now ?? Date.now;
    // Counted from the start, as kube-proxy does, so an agent whose first sync never
    // succeeds turns unhealthy instead of staying "starting up" forever.
    this.lastUpdated = this.now();
  }

  /** A sync was requested: the oldest pending request is the one that ages. */
  queued(): void {
    this.oldestPending ??= this.now();
  }

  /** A sync succeeded: nothing is pending. */
  updated(): void {
    this.oldestPending = undefined;
    this.lastUpdated = this.now();
  }

  healthy(): boolean {
    return this.oldestPending === undefined || this.now() - this.oldestPending < this.options.timeoutMs;
  }

  /** kube-proxy's JSON: lastUpdated is "now" while healthy (its compatibility rule), the last success otherwise. */
  answer(path: '/healthz' | '/livez'): HealthAnswer {
    const now = this.now();
    const proxyHealthy = this.healthy();
    const nodeEligible = path === '/healthz' ? this.options.nodeEligible() : undefined;
    const healthy = proxyHealthy && nodeEligible !== false;
    const lastUpdated = new Date(proxyHealthy ? now : this.lastUpdated).toISOString();
    const status = Object.fromEntries(this.options.families().map((f) => [f, { lastUpdated: new Date(this.lastUpdated).toISOString(), healthy: proxyHealthy }]));
    return {
      status: healthy ? 200 : 503,
      body: { lastUpdated, currentTime: new Date(now).toISOString(), ...(nodeEligible === undefined ? {} : { nodeEligible }), healthy: proxyHealthy, status },
    };
  }
}

/** Serves /healthz and /livez of `health` on host:port through `listen`. */
export async function serveProxyHealth(listen: Listen, host: string, port: number, health: ProxyHealth): Promise<Listening> {
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const path = (req.url ?? '/').split('?')[0];
    if (path !== '/healthz' && path !== '/livez') {
      res.writeHead(404, { 'Content-Type': 'text/plain; charset=utf-8' }).end('not found\n');
      return;
    }
    const { status, body } = health.answer(path);
    res.writeHead(status, { 'Content-Type': 'application/json', 'X-Content-Type-Options': 'nosniff' });
    res.end(JSON.stringify(body));
  });
  const listening = await listen(host, port, (socket) => server.emit('connection', socket));
  return {
    async close() {
      await listening.close();
      server.closeAllConnections();
    },
  };
}
