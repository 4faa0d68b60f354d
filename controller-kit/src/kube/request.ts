import * as http from 'node:http';
import * as https from 'node:https';
import type { ClusterAccess } from './cluster-access.js';

/**
 * One raw API request. controller-kit talks to the API server through this narrow
 * function instead of client-node's generated clients for two reasons: it controls the
 * exact JSON sent (a MicroTime field holding a plain Date goes out through Date.toJSON
 * with three fractional digits, which the API server rejects for Lease and Event times),
 * and it reaches what the generic KubernetesObjectApi cannot (subresources like /status).
 */
export interface ApiRequest {
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  path: string;
  query?: Record<string, string | number | boolean | undefined>;
  /** Serialized body; sent as is. */
  body?: string;
  contentType?: string;
}

export interface ApiResponse {
  statusCode: number;
  /** Parsed JSON, or the text when the body is not JSON. */
  body: unknown;
  /** The Retry-After header in seconds, when the server sent one (429, some 5xx). */
  retryAfterSeconds?: number;
}

export type Requester = (request: ApiRequest) => Promise<ApiResponse>;

/** A non-2xx answer, with the API server's Status reason (`Conflict`, `NotFound`, ...). */
export class ApiError extends Error {
  override readonly name = 'ApiError';

  constructor(
    readonly statusCode: number,
    readonly reason: string,
    message: string,
    readonly body: unknown,
    /** When the server asked to wait: the Retry-After header, or the Status' details.retryAfterSeconds. */
    readonly retryAfterSeconds?: number,
  ) {
    super(message);
  }
}

export const isNotFound = (err: unknown): boolean => err instanceof ApiError && err.statusCode === 404;
export const isConflict = (err: unknown): boolean => err instanceof ApiError && err.statusCode === 409;
export const isGone = (err: unknown): boolean => err instanceof ApiError && err.statusCode === 410;
export const isAlreadyExists = (err: unknown): boolean => err instanceof ApiError && err.statusCode === 409 && err.reason === 'AlreadyExists';

/** Sends the request and returns the parsed body, throwing ApiError on a non-2xx status. */
export async function call<T>(requester: Requester, request: ApiRequest): Promise<T> {
  const response = await requester(request);
  if (response.statusCode >= 200 && response.statusCode < 300) return response.body as T;
  // A plain-text body (the API server's own 429 from priority and fairness) has no Status fields.
  const status = (typeof response.body === 'object' && response.body !== null ? response.body : {}) as { reason?: string; message?: string; details?: { retryAfterSeconds?: number } };
  throw new ApiError(
    response.statusCode,
    status.reason ?? String(response.statusCode),
    `${request.method} ${request.path}: ${response.statusCode} ${status.message ?? JSON.stringify(response.body)}`,
    response.body,
    response.retryAfterSeconds ?? status.details?.retryAfterSeconds,
  );
}

export function buildUrl(server: string, path: string, query: ApiRequest['query']): URL {
  const url = new URL(server.replace(/\/$/, '') + path);
  for (const [key, value] of Object.entries(query ?? {})) {
    if (value !== undefined) url.searchParams.set(key, String(value));
  }
  return url;
}

/**
 * A Requester using the credentials and TLS settings of a client-node KubeConfig.
 * Credentials are re-read per request (tokens rotate); the TLS connection pool is kept
 * across requests, because client-node builds a new Agent on every call, which would
 * cost a TLS handshake per API request.
 */
export function kubeRequester(kubeConfig: ClusterAccess, options: { timeoutMs?: number } = {}): Requester {
  const cluster = kubeConfig.getCurrentCluster();
  if (!cluster) throw new Error('kubeconfig has no current cluster');
  const timeoutMs = options.timeoutMs ?? 30_000;
  const pool = new AgentPool();
  return async (request) => {
    const url = buildUrl(cluster.server, request.path, request.query);
    const opts: https.RequestOptions = { method: request.method, headers: { Accept: 'application/json' } };
    await kubeConfig.applyToHTTPSOptions(opts);
    // A proxy agent from client-node is used as given; otherwise one pooled agent per TLS identity.
    const agent = cluster.proxyUrl ? opts.agent : pool.agentFor(url.protocol, opts);
    const headers = { ...(opts.headers as Record<string, string>) };
    if (request.body !== undefined) {
      headers['Content-Type'] = request.contentType ?? 'application/json';
      headers['Content-Length'] = String(Buffer.byteLength(request.body));
    }
    const transport = url.protocol === 'https:' ? https : http;
    return new Promise<ApiResponse>((resolve, reject) => {
      const req = transport.request(url, { ...opts, agent, headers, timeout: timeoutMs }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('error', reject);
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let body: unknown = text;
          try {
            body = text ? JSON.parse(text) : undefined;
          } catch {
            // not JSON (e.g. a proxy's error page): keep the text
          }
          const retryAfter = Number(res.headers['retry-after']); // delay-seconds form; an HTTP date gives NaN and is ignored
          resolve({ statusCode: res.statusCode ?? 0, body, ...(Number.isFinite(retryAfter) && res.headers['retry-after'] ? { retryAfterSeconds: retryAfter } : {}) });
        });
      });
      // ETIMEDOUT, like a connect timeout, so the error taxonomy sees a network failure.
      req.on('timeout', () => req.destroy(Object.assign(new Error(`${request.method} ${request.path}: timed out after ${timeoutMs} ms`), { code: 'ETIMEDOUT' })));
      req.on('error', reject);
      if (request.body !== undefined) req.write(request.body);
      req.end();
    });
  };
}

/** Keep-alive agents, rebuilt only when the TLS material (CA, client cert/key) changes. */
class AgentPool {
  private current: { identity: string; agent: http.Agent } | undefined;

  agentFor(protocol: string, opts: https.RequestOptions): http.Agent {
    const identity = [protocol, opts.ca, opts.cert, opts.key, opts.rejectUnauthorized, opts.servername].map(String).join('\0');
    if (this.current?.identity === identity) return this.current.agent;
    this.current?.agent.destroy();
    const agent = protocol === 'https:'
      ? new https.Agent({ keepAlive: true, ca: opts.ca, cert: opts.cert, key: opts.key, rejectUnauthorized: opts.rejectUnauthorized, servername: opts.servername })
      : new http.Agent({ keepAlive: true });
    this.current = { identity, agent };
    return agent;
  }
}
