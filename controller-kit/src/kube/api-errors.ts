import { PermanentError, TemporaryError } from '../errors.js';
import { ApiError } from './request.js';

/**
 * Kubernetes API failures sorted into the error taxonomy by status code — the one place
 * that decides which refusals can heal by waiting:
 * - permanent: 400 BadRequest, 413 RequestEntityTooLarge, 415, 422 Invalid. The server
 *   judged the request itself; the same request is refused again, so only a change of
 *   its inputs (a watch event) may bring a different answer.
 * - temporary: 429 and 5xx (overload, etcd trouble, timeouts), 408, 410, 401 (a token
 *   being rotated), network errors. Retried with backoff, no sooner than Retry-After.
 * - 403 Forbidden is temporary, deliberately: RBAC being installed or fixed, a
 *   ResourceQuota, or a namespace being terminated all change without any event on the
 *   object's inputs, so marking it permanent would strand the object until an unrelated
 *   edit. The per-key backoff (capped at minutes) keeps the retry rate low, and the
 *   caller's metrics show it by reason.
 * - 404 and 409 depend on the call (`CallSemantics`): a 404 on an apply means a missing
 *   namespace or CRD that may yet appear; a 409 is an optimistic-concurrency race that a
 *   re-read resolves. Both are temporary unless the caller says otherwise.
 */
export type ApiErrorClass = 'temporary' | 'permanent';

export interface CallSemantics {
  notFound?: ApiErrorClass;
  conflict?: ApiErrorClass;
}

const PERMANENT_STATUS: ReadonlySet<number> = new Set([400, 405, 413, 415, 422]);

/** Node's codes for failed connections: the request may not even have reached the server. */
const NETWORK_CODES: ReadonlySet<string> = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'EHOSTUNREACH', 'ENETUNREACH', 'EAI_AGAIN', 'ENOTFOUND', 'ECONNABORTED']);

/** Longest Retry-After honoured: a bogus header must not park a key for hours. */
const MAX_RETRY_AFTER_MS = 5 * 60_000;

export function apiErrorClass(statusCode: number, semantics: CallSemantics = {}): ApiErrorClass {
  if (statusCode === 404) return semantics.notFound ?? 'temporary';
  if (statusCode === 409) return semantics.conflict ?? 'temporary';
  return PERMANENT_STATUS.has(statusCode) ? 'permanent' : 'temporary';
}

/**
 * `err` as a TemporaryError or PermanentError when it is an API or network failure (the
 * original is the `cause`); typed errors and anything else (a bug) are returned as they are.
 */
export function typedApiError(err: unknown, semantics: CallSemantics = {}): unknown {
  if (err instanceof TemporaryError || err instanceof PermanentError) return err;
  if (err instanceof ApiError) {
    if (apiErrorClass(err.statusCode, semantics) === 'permanent') return new PermanentError(err.message, { reason: err.reason, cause: err });
    const delayMs = err.retryAfterSeconds !== undefined ? Math.min(MAX_RETRY_AFTER_MS, err.retryAfterSeconds * 1000) : undefined;
    return new TemporaryError(err.message, { reason: err.reason, delayMs, cause: err });
  }
  const code = (err as { code?: unknown } | null)?.code;
  if (err instanceof Error && typeof code === 'string' && NETWORK_CODES.has(code)) {
    return new TemporaryError(err.message, { reason: 'NetworkError', cause: err });
  }
  return err;
}
