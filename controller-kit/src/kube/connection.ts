import * as http from 'node:http';
import * as https from 'node:https';
import type { ClusterAccess } from './cluster-access.js';
import { buildUrl, type ApiRequest } from './request.js';

/** A request ready to send: the caller creates it and attaches its listeners in one synchronous step. */
export interface PreparedRequest {
  url: URL;
  options: https.RequestOptions;
  transport: typeof http | typeof https;
}

/**
 * How requests reach the API server: its URL, the credentials and TLS settings of a
 * ClusterAccess (re-read per request: tokens rotate), and a keep-alive pool kept across
 * requests, because client-node builds a new Agent on every call, which would cost a TLS
 * handshake per API request. Shared by plain requests (kubeRequester) and watch streams.
 */
export class ApiConnection {
  private readonly server: string;
  private readonly proxied: boolean;
  private pool: { identity: string; agent: http.Agent } | undefined;

  constructor(private readonly access: ClusterAccess) {
    const cluster = access.getCurrentCluster();
    if (!cluster) throw new Error('kubeconfig has no current cluster');
    this.server = cluster.server;
    this.proxied = Boolean(cluster.proxyUrl);
  }

  /**
   * Options for one request. `fresh` opens a new connection instead of taking one from
   * the keep-alive pool (for a retry after a pooled connection turned out to be closed).
   */
  async prepare(method: ApiRequest['method'], path: string, query: ApiRequest['query'], headers: Record<string, string> = {}, fresh = false): Promise<PreparedRequest> {
    const url = buildUrl(this.server, path, query);
    const options: https.RequestOptions = { method, headers: { Accept: 'application/json' } };
    await this.access.applyToHTTPSOptions(options);
    // A proxy agent from client-node is used as given; otherwise one pooled agent per TLS identity.
    const agent = this.proxied ? options.agent : fresh ? false : this.agentFor(url.protocol, options);
    return { url, options: { ...options, agent, headers: { ...(options.headers as Record<string, string>), ...headers } }, transport: url.protocol === 'https:' ? https : http };
  }

  /** Keep-alive agents, rebuilt only when the TLS material (CA, client cert/key) changes. */
  private agentFor(protocol: string, opts: https.RequestOptions): http.Agent {
    const identity = [protocol, opts.ca, opts.cert, opts.key, opts.rejectUnauthorized, opts.servername].map(String).join('\0');
    if (this.pool?.identity === identity) return this.pool.agent;
    this.pool?.agent.destroy();
    const agent = protocol === 'https:'
      ? new https.Agent({ keepAlive: true, ca: opts.ca, cert: opts.cert, key: opts.key, rejectUnauthorized: opts.rejectUnauthorized, servername: opts.servername })
      : new http.Agent({ keepAlive: true });
    this.pool = { identity, agent };
    return agent;
  }
}

/** An Error with a Node-style `code`, so the error taxonomy (api-errors.ts) sees a network failure. */
export function networkError(message: string, code: 'ETIMEDOUT' | 'ECONNRESET'): Error & { code: string } {
  return Object.assign(new Error(message), { code });
}
