/**
 * The one hash module: canonical JSON (equal content, equal text) and FNV-1a 64 over
 * UTF-8. Pure (no crypto, no I/O), so the planner and the renderers, which are pure
 * cores, may import it as well as the shells.
 */

/**
 * Canonical JSON: object keys sorted, `undefined` members dropped (as JSON.stringify
 * does), arrays kept in order. Two values that serialize to the same API object give
 * the same text, whatever order their keys were built in.
 */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(canonicalize(value)) ?? 'null';
}

function canonicalize(value: unknown): unknown {
  if (Array.isArray(value)) return value.map((v) => (v === undefined ? null : canonicalize(v)));
  if (value instanceof Date) return value.toISOString();
  if (value !== null && typeof value === 'object') {
    // A null prototype keeps a `__proto__` key an ordinary member instead of a prototype change.
    const out = Object.create(null) as Record<string, unknown>;
    // Plain sort() orders by UTF-16 code units, the order the planner's compareText uses.
    for (const key of Object.keys(value).sort()) {
      const v = (value as Record<string, unknown>)[key];
      if (v !== undefined) out[key] = canonicalize(v);
    }
    return out;
  }
  return value;
}

/**
 * FNV-1a 64 of the UTF-8 bytes of `text`, as 16 hex digits: small, stable and
 * dependency-free; used for rule object names and the ruleset digest. Change detection
 * and naming, not security. Computed on four 16-bit limbs instead of BigInt, and without
 * an encoder allocation for ASCII, because the digest runs over multi-megabyte scripts on
 * every sync. Over ASCII text UTF-8 bytes are the UTF-16 code units, so a hash that ran
 * over code units gave the same value for ASCII input.
 */
export function fnv1a64Hex(text: string): string {
  // Offset basis 0xcbf29ce484222325, as 16-bit limbs (h0 least significant).
  let h0 = 0x2325;
  let h1 = 0x8422;
  let h2 = 0x9ce4;
  let h3 = 0xcbf2;
  const step = (byte: number): void => {
    h0 ^= byte;
    // Multiply by the prime 0x100000001b3 = 2^40 + 0x1b3, keeping the low 64 bits.
    const t0 = h0 * 0x1b3;
    let t1 = h1 * 0x1b3;
    let t2 = h2 * 0x1b3 + (h0 << 8);
    const t3 = h3 * 0x1b3 + (h1 << 8);
    t1 += t0 >>> 16;
    t2 += t1 >>> 16;
    h0 = t0 & 0xffff;
    h1 = t1 & 0xffff;
    h2 = t2 & 0xffff;
    h3 = (t3 + (t2 >>> 16)) & 0xffff;
  };
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code < 0x80) { step(code); continue; }
    // Rare non-ASCII text: hash its UTF-8 bytes, exactly as a byte-wise FNV would.
    const point = text.codePointAt(i) ?? code;
    if (point > 0xffff) i++;
    for (const byte of new TextEncoder().encode(String.fromCodePoint(point))) step(byte);
  }
  return [h3, h2, h1, h0].map((limb) => limb.toString(16).padStart(4, '0')).join('');
}
