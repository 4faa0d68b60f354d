import { createHash } from 'node:crypto';

/**
 * Canonical JSON: object keys sorted, `undefined` members dropped (as JSON.stringify
 * does), arrays kept in order. Two values that serialize to the same API object give
 * the same text, whatever order their keys were built in.
 */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(canonicalize(value));
}

function canonicalize(value: unknown): unknown {
  if (Array.isArray(value)) return value.map((v) => (v === undefined ? null : canonicalize(v)));
  if (value instanceof Date) return value.toISOString();
  if (value !== null && typeof value === 'object') {
    // A null prototype keeps a `__proto__` key an ordinary member instead of a prototype change.
    const out = Object.create(null) as Record<string, unknown>;
    for (const key of Object.keys(value).sort()) {
      const v = (value as Record<string, unknown>)[key];
      if (v !== undefined) out[key] = canonicalize(v);
    }
    return out;
  }
  return value;
}

/** sha256 hex of the canonical JSON: compare before writing to skip no-op writes. */
export function contentHash(value: unknown): string {
  return createHash('sha256').update(canonicalJson(value)).digest('hex');
}

/**
 * Remembers the hash of what was last written per key, so a caller writes only when
 * the content changed. Seed it from the live objects (e.g. an annotation holding the
 * hash) so a restart with nothing changed writes nothing.
 */
export class WrittenHashes {
  private readonly hashes = new Map<string, string>();

  /** True when `content` differs from what was recorded for `key`. */
  changed(key: string, content: unknown): boolean {
    return this.hashes.get(key) !== contentHash(content);
  }

  record(key: string, content: unknown): void {
    this.hashes.set(key, contentHash(content));
  }

  /** Records a hash computed elsewhere (e.g. read back from an annotation). */
  recordHash(key: string, hash: string): void {
    this.hashes.set(key, hash);
  }

  forget(key: string): void {
    this.hashes.delete(key);
  }
}
