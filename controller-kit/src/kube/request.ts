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

