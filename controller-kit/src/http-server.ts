import { formatHostPort } from '@natplan/netaddr';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Metrics } from './metrics.js';

/** A named check; false or a throw means failing. */
export type Check = () => boolean | Promise<boolean>;

export interface HttpServerOptions {
  host: string;
  /** 0 picks a free port (tests). */
  port: number;
  metrics?: Metrics;
  /** Checks for /readyz (e.g. informers synced, leader or standby). */
  readiness?: Record<string, Check>;
  /** Checks for /healthz; no checks means alive while the process serves. */
  liveness?: Record<string, Check>;
}

export interface RunningHttpServer {
  port: number;
  url: string;
  close(): Promise<void>;
}

/** Serves /metrics (Prometheus text), /healthz and /readyz (200 `ok`, or 503 naming the failing checks). */
export async function startHttpServer(options: HttpServerOptions): Promise<RunningHttpServer> {
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    const respond = (status: number, body: string, contentType = 'text/plain; charset=utf-8') => {
      res.writeHead(status, { 'Content-Type': contentType });
      res.end(body);
    };
    const handle = async () => {
      if (req.method !== 'GET' && req.method !== 'HEAD') return respond(405, 'method not allowed\n');
      if (path === '/metrics' && options.metrics) return respond(200, await options.metrics.text(), options.metrics.registry.contentType);
      if (path === '/healthz' || path === '/livez') return respondChecks(options.liveness);
      if (path === '/readyz') return respondChecks(options.readiness);
      return respond(404, 'not found\n');
    };
    const respondChecks = async (checks: Record<string, Check> = {}) => {
      const failing = await failingChecks(checks);
      if (failing.length === 0) return respond(200, 'ok\n');
      return respond(503, failing.map((name) => `[-] ${name} failed\n`).join(''));
    };
    handle().catch((err: unknown) => respond(500, `${String(err)}\n`));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    port,
    url: `http://${formatHostPort(options.host, port)}`,
    close: () => new Promise<void>((resolve, reject) => {
      server.closeAllConnections();
      server.close((err) => (err ? reject(err) : resolve()));
    }),
  };
}

async function failingChecks(checks: Record<string, Check>): Promise<string[]> {
  const results = await Promise.all(Object.entries(checks).map(async ([name, check]) => {
    try {
      return (await check()) ? undefined : name;
    } catch {
      return name;
    }
  }));
  return results.filter((name): name is string => name !== undefined);
}
