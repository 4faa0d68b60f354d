/**
 * FNV-1a 64: small, stable and dependency-free; used for object names and the ruleset
 * digest. Computed on four 16-bit limbs instead of BigInt, and over UTF-8 without an
 * encoder allocation, because the digest runs over multi-megabyte scripts on every sync.
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
