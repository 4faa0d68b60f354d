import type { ClientRequest } from 'node:http';
import type { ClusterAccess } from './cluster-access.js';
import { ApiConnection, networkError } from './connection.js';
import type { ApiRequest, ApiResponse, Requester } from './request.js';

export interface KubeRequesterOptions {
  /**
   * A request fails (ETIMEDOUT) when its answer does not begin this long after it was
   * sent, or when its connection falls silent this long in the middle of the answer;
   * the access's `apiTimeouts.requestMs`, else 30 s, unless given.
   */
  timeoutMs?: number;
  /**
   * A request not answered in full this long after it was sent fails (ETIMEDOUT), even
   * if bytes keep trickling in; 2 min unless given (the API server ends a request that
   * is not a watch after 1 min, its --request-timeout).
   */
  deadlineMs?: number;
}

/** Marks a failure on a reused keep-alive connection before any answer: the request can be sent again. */
const STALE = Symbol('stale keep-alive connection');

/**
 * A Requester using the credentials and TLS settings of a ClusterAccess, over one
 * keep-alive pool (connection.ts). Every failure — refused, reset before or during the
 * answer, a FIN in the middle of a body, silence, a body that never ends — rejects the
 * returned promise with an Error carrying a network `code`, which the error taxonomy
 * (api-errors.ts) calls temporary; nothing is left to surface as an unhandled 'error'.
 *
 * One failure is retried at once, on a new connection: a pooled connection that the
 * server closed (idle timeout, overload) just as this request was sent on it, before any
 * answer came. That request never reached the server's handler; Go's net/http (and so
 * client-go) retries the same case. It is what a loaded API server does to a keep-alive
 * client most often ("socket hang up"), and every write controller-kit makes is safe to
 * repeat anyway: server-side apply is idempotent, a PUT or a merge patch guarded by a
 * resourceVersion and a POST of a named object answer 409 when the first one did land,
 * and deleteObject takes a 404 as done.
 */
export function kubeRequester(access: ClusterAccess, options: KubeRequesterOptions = {}): Requester {
  const connection = new ApiConnection(access);
  const timeoutMs = options.timeoutMs ?? access.apiTimeouts?.requestMs ?? 30_000;
  const deadlineMs = options.deadlineMs ?? 120_000;

  async function attempt(request: ApiRequest, fresh: boolean): Promise<ApiResponse> {
    const headers: Record<string, string> = {};
    if (request.body !== undefined) {
      headers['Content-Type'] = request.contentType ?? 'application/json';
      headers['Content-Length'] = String(Buffer.byteLength(request.body));
    }
    const prepared = await connection.prepare(request.method, request.path, request.query, headers, fresh);
    const what = `${request.method} ${request.path}`;
    return new Promise<ApiResponse>((resolve, reject) => {
      let settled = false;
      let answered = false;
      const settle = (outcome: () => void) => {
        if (settled) return;
        settled = true;
        clearTimeout(headersTimer);
        clearTimeout(deadline);
        outcome();
      };
      const fail = (err: Error) => settle(() => {
        if (!answered && req.reusedSocket && isConnectionReset(err)) Object.assign(err, { [STALE]: true });
        reject(err);
        req.destroy();
      });
      const req: ClientRequest = prepared.transport.request(prepared.url, { ...prepared.options, timeout: timeoutMs }, (res) => {
        answered = true;
        clearTimeout(headersTimer);
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('error', fail);
        // A response destroyed without an error (and without its end) must not leave the promise pending.
        res.on('close', () => { if (!res.complete) fail(networkError(`${what}: the answer was cut off`, 'ECONNRESET')); });
        res.on('end', () => settle(() => {
          const text = Buffer.concat(chunks).toString('utf8');
          let body: unknown = text;
          try {
            body = text ? JSON.parse(text) : undefined;
          } catch {
            // not JSON (e.g. a proxy's error page): keep the text
          }
          const retryAfter = Number(res.headers['retry-after']); // delay-seconds form; an HTTP date gives NaN and is ignored
          resolve({ statusCode: res.statusCode ?? 0, body, ...(Number.isFinite(retryAfter) && res.headers['retry-after'] ? { retryAfterSeconds: retryAfter } : {}) });
        }));
      });
      // ETIMEDOUT, like a connect timeout, so the error taxonomy sees a network failure. The
      // wait for the answer has its own timer: a socket's idle timeout fires only after twice
      // its time while a TLS handshake hangs (Node 20).
      const headersTimer = setTimeout(() => fail(networkError(`${what}: no answer within ${timeoutMs} ms`, 'ETIMEDOUT')), timeoutMs);
      req.on('timeout', () => fail(networkError(`${what}: no data for ${timeoutMs} ms`, 'ETIMEDOUT')));
      const deadline = setTimeout(() => fail(networkError(`${what}: not answered within its ${deadlineMs} ms deadline`, 'ETIMEDOUT')), deadlineMs);
      req.on('error', fail);
      if (request.body !== undefined) req.write(request.body);
      req.end();
    });
  }

  return async (request) => {
    try {
      return await attempt(request, false);
    } catch (err) {
      if (!(err as { [STALE]?: boolean })[STALE]) throw err;
      return attempt(request, true);
    }
  };
}

const isConnectionReset = (err: Error): boolean => {
  const code = (err as { code?: unknown }).code;
  return code === 'ECONNRESET' || code === 'EPIPE';
};
