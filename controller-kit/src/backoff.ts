/**
 * Exponential backoff with a cap: base * factor^(attempt), never above max.
 * `attempt` counts failures so far, starting at 0 for the first retry.
 */
export interface BackoffOptions {
  baseMs: number;
  maxMs: number;
  /** Growth per failure; 2 unless given. */
  factor?: number;
  /**
   * Fraction of random spread added on top (0.1 = up to +10%), so many clients failing
   * together do not retry in lockstep. 0 unless given; tests keep it 0.
   */
  jitter?: number;
}

/**
 * The delay before retry number `attempt + 1`. `random` (uniform in [0, 1), e.g. Math.random)
 * spreads the jitter; the caller passes it so this stays a pure function.
 */
export function backoffDelay(options: BackoffOptions, attempt: number, random: () => number): number {
  const factor = options.factor ?? 2;
  const raw = options.baseMs * Math.pow(factor, Math.max(0, attempt));
  const capped = Math.min(options.maxMs, Number.isFinite(raw) ? raw : options.maxMs);
  const jitter = options.jitter ?? 0;
  return jitter > 0 ? Math.min(options.maxMs, capped * (1 + jitter * random())) : capped;
}

/** Per-key failure counter giving the next backoff delay (client-go's ItemExponentialFailureRateLimiter). */
export class KeyedBackoff<K> {
  private failures = new Map<K, number>();

  /** `random` as for backoffDelay: the jitter's source, given by the caller. */
  constructor(private readonly options: BackoffOptions, private readonly random: () => number) {}

  /** Records one more failure for `key` and returns how long to wait before retrying it. */
  next(key: K): number {
    const attempt = this.failures.get(key) ?? 0;
    this.failures.set(key, attempt + 1);
    return backoffDelay(this.options, attempt, this.random);
  }

  /** Failures recorded for `key` since it last succeeded. */
  failuresOf(key: K): number {
    return this.failures.get(key) ?? 0;
  }

  /** Forgets the failures of `key` (call after a success). */
  forget(key: K): void {
    this.failures.delete(key);
  }
}
