/**
 * Health-check node ports of `externalTrafficPolicy: Local` load balancers, as kube-proxy
 * serves them: cloud load balancers probe `GET /` on each node and send traffic only to
 * nodes answering 200, i.e. nodes with a local endpoint (503 otherwise).
 */
import { createServer, type Server } from 'node:http';
import type { Logger } from '../../../controller-kit/src/controller.js';
import type { RenderInput } from '../render/index.js';

export interface HealthCheck { namespace: string; name: string; localEndpoints: number }

/** healthCheckNodePort -> the Service it reports on and its local endpoint count. */
export function healthChecksFor(input: RenderInput): Map<number, HealthCheck> {
  const byService = new Map<string, { port?: number; local: number }>();
  for (const { namespace, spec } of input.services) {
    const key = `${namespace}/${spec.service.name}`;
    const entry = byService.get(key) ?? { local: 0 };
    if (spec.part === 0 && spec.externalTrafficPolicy === 'Local' && spec.healthCheckNodePort) entry.port = spec.healthCheckNodePort;
    entry.local += (spec.endpoints ?? []).filter((e) => e.forLocal && e.nodeName === input.identity.nodeName).length;
    byService.set(key, entry);
  }
  const out = new Map<number, HealthCheck>();
  for (const [key, { port, local }] of byService) {
    if (!port) continue;
    const [namespace, name] = key.split('/') as [string, string];
    out.set(port, { namespace, name, localEndpoints: local });
  }
  return out;
}

/** Keeps one HTTP server per health-check port, answering from the latest counts. */
export class HealthCheckServers {
  private readonly servers = new Map<number, Server>();
  private checks = new Map<number, HealthCheck>();

  constructor(private readonly logger: Logger, private readonly host = '0.0.0.0') {}

  async update(checks: Map<number, HealthCheck>): Promise<void> {
    this.checks = checks;
    for (const [port, server] of this.servers) {
      if (!checks.has(port)) {
        this.servers.delete(port);
        await new Promise<void>((r) => server.close(() => r()));
      }
    }
    for (const port of checks.keys()) {
      if (this.servers.has(port)) continue;
      const server = createServer((_req, res) => {
        const check = this.checks.get(port);
        const healthy = (check?.localEndpoints ?? 0) > 0;
        res.writeHead(healthy ? 200 : 503, { 'Content-Type': 'application/json', 'X-Content-Type-Options': 'nosniff' });
        res.end(JSON.stringify({ service: { namespace: check?.namespace, name: check?.name }, localEndpoints: check?.localEndpoints ?? 0, serviceProxyHealthy: true }));
      });
      this.servers.set(port, server);
      await new Promise<void>((resolve) => {
        server.once('error', (err) => { this.logger.error('health-check port unavailable', { port, err }); this.servers.delete(port); resolve(); });
        server.listen(port, this.host, () => resolve());
      });
    }
  }

  ports(): number[] {
    return [...this.servers.keys()].sort((a, b) => a - b);
  }

  async close(): Promise<void> {
    await this.update(new Map());
  }
}
