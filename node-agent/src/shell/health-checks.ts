/**
 * Health-check node ports of `externalTrafficPolicy: Local` load balancers, as kube-proxy
 * serves them: cloud load balancers probe `GET /` on each node and send traffic only to
 * nodes answering 200, i.e. nodes with a local endpoint (503 otherwise). They listen where
 * the node's traffic arrives (listeners.ts).
 */
import { createServer, type Server } from 'node:http';
import type { Logger } from '@natplan/controller-kit';
import type { RenderInput } from '../render/index.js';
import type { Listen, Listening } from './listeners.js';

export interface HealthCheck { namespace: string; name: string; localEndpoints: number }

type Spec = RenderInput['services'][number]['spec'];
/** What one plan part contributes, for one node; plan specs are replaced, never mutated, when a plan changes. */
interface PartFacts { node: string; port: number | undefined; local: number }
/** Each plan part's facts, counted once per plan version; one per owner (NodeHealth), not module state. */
export type PartFactsCache = WeakMap<Spec, PartFacts>;
export const newPartFactsCache = (): PartFactsCache => new WeakMap();

function factsOf(partFacts: PartFactsCache, spec: Spec, node: string): PartFacts {
  let facts = partFacts.get(spec);
  if (facts?.node !== node) {
    const port = spec.part === 0 && spec.externalTrafficPolicy === 'Local' && spec.healthCheckNodePort ? spec.healthCheckNodePort : undefined;
    let local = 0;
    for (const e of spec.endpoints ?? []) if (e.forLocal && e.nodeName === node) local++;
    partFacts.set(spec, facts = { node, port, local });
  }
  return facts;
}

/**
 * healthCheckNodePort -> the Service it reports on and its local endpoint count. Runs
 * after every sync, so its cost per plan is a lookup (each part's facts are counted once
 * per plan version): at 10k Services a scan that counted every endpoint took 10 ms and
 * more (issue 13). Only Services with a health check are keyed.
 */
export function healthChecksFor(input: RenderInput, cache: PartFactsCache): Map<number, HealthCheck> {
  const node = input.identity.nodeName;
  const byService = new Map<string, { port: number; local: number }>();
  for (const { namespace, spec } of input.services) {
    const { port } = factsOf(cache, spec, node);
    if (port) byService.set(`${namespace}/${spec.service.name}`, { port, local: 0 });
  }
  const out = new Map<number, HealthCheck>();
  if (byService.size === 0) return out;
  for (const { namespace, spec } of input.services) {
    const { local } = factsOf(cache, spec, node);
    const entry = local > 0 ? byService.get(`${namespace}/${spec.service.name}`) : undefined;
    if (entry) entry.local += local;
  }
  for (const [key, { port, local }] of byService) {
    const [namespace, name] = key.split('/') as [string, string];
    out.set(port, { namespace, name, localEndpoints: local });
  }
  return out;
}

/**
 * Keeps one listening port per health check, all served by one HTTP server that tells
 * them apart by the port a connection arrived on. 200 needs local endpoints and a
 * healthy proxy (a node whose syncs stall must not attract traffic), as kube-proxy does.
 */
export class HealthCheckServers {
  private readonly open = new Map<number, Listening>();
  private checks = new Map<number, HealthCheck>();
  private readonly server: Server;

  constructor(private readonly logger: Logger, private readonly listen: Listen, private readonly proxyHealthy: () => boolean = () => true, private readonly host = '0.0.0.0') {
    this.server = createServer((req, res) => {
      const check = this.checks.get(req.socket.localPort ?? 0);
      const localEndpoints = check?.localEndpoints ?? 0;
      const serviceProxyHealthy = this.proxyHealthy();
      res.writeHead(localEndpoints > 0 && serviceProxyHealthy ? 200 : 503, {
        'Content-Type': 'application/json', 'X-Content-Type-Options': 'nosniff', 'X-Load-Balancing-Endpoint-Weight': String(localEndpoints),
      });
      res.end(JSON.stringify({ service: { namespace: check?.namespace, name: check?.name }, localEndpoints, serviceProxyHealthy }));
    });
  }

  async update(checks: Map<number, HealthCheck>): Promise<void> {
    this.checks = checks;
    for (const [port, listening] of this.open) {
      if (!checks.has(port)) {
        this.open.delete(port);
        await listening.close();
      }
    }
    for (const port of checks.keys()) {
      if (this.open.has(port)) continue;
      try {
        this.open.set(port, await this.listen(this.host, port, (socket) => this.server.emit('connection', socket)));
      } catch (err) {
        // Retried at the next sync: the port may be free by then.
        this.logger.error('health-check port unavailable', { port, err });
      }
    }
  }

  ports(): number[] {
    return [...this.open.keys()].sort((a, b) => a - b);
  }

  async close(): Promise<void> {
    await this.update(new Map());
    this.server.closeAllConnections();
  }
}
