/**
 * The error taxonomy a reconcile function speaks (kopf's TemporaryError/PermanentError,
 * controller-runtime's TerminalError):
 * - `TemporaryError`: the world may heal (API conflict, a dependency not there yet);
 *   retried with per-key backoff, or after `delayMs` when given.
 * - `PermanentError`: retrying cannot help (invalid input); not retried, the caller
 *   reports it in the object's status. A later change to the object queues it again.
 * - Anything else is a bug or an unforeseen failure and is treated as temporary.
 */
export class TemporaryError extends Error {
  override readonly name = 'TemporaryError';
  /** Retry no sooner than this (a server's Retry-After); the key's backoff still grows underneath. */
  readonly delayMs: number | undefined;
  /** A CamelCase reason for metrics and logs (an API Status reason such as `TooManyRequests`). */
  readonly reason: string;

  constructor(message: string, options: { delayMs?: number; reason?: string; cause?: unknown } = {}) {
    super(message, { cause: options.cause });
    this.delayMs = options.delayMs;
    this.reason = options.reason ?? 'TemporaryError';
  }
}

export class PermanentError extends Error {
  override readonly name = 'PermanentError';
  /** A CamelCase reason fit for a status condition or an Event. */
  readonly reason: string;

  constructor(message: string, options: { reason?: string; cause?: unknown } = {}) {
    super(message, { cause: options.cause });
    this.reason = options.reason ?? 'PermanentError';
  }
}

export type ErrorKind = 'temporary' | 'permanent' | 'unknown';

export function classifyError(err: unknown): ErrorKind {
  if (err instanceof PermanentError) return 'permanent';
  if (err instanceof TemporaryError) return 'temporary';
  return 'unknown';
}
