// Names and content hashes of plan objects. Deterministic names are what make reconcile
// level-based (controller-runtime): the desired object set is a function of the input.

/**
 * Name of a ServiceNatPlan part: the Service's name for part 0, "<name>.<part>" after.
 * Service names are DNS-1035 labels (no dots), so these never collide with another
 * Service's part 0.
 */
export function servicePlanName(serviceName: string, part: number): string {
  return part === 0 ? serviceName : `${serviceName}.${part}`;
}

/** JSON with object keys sorted, so equal content gives equal text (undefined members dropped, as JSON.stringify does). */
export function canonicalJSON(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null';
  if (Array.isArray(value)) {
    let out = '[';
    for (let i = 0; i < value.length; i++) out += (i > 0 ? ',' : '') + (value[i] === undefined ? 'null' : canonicalJSON(value[i]));
    return `${out}]`;
  }
  const record = value as Record<string, unknown>;
  let out = '{';
  let first = true;
  // Plain sort() orders by UTF-16 code units, the same order as compareText.
  for (const key of Object.keys(record).sort()) {
    const member = record[key];
    if (member === undefined) continue;
    out += `${first ? '' : ','}${JSON.stringify(key)}:${canonicalJSON(member)}`;
    first = false;
  }
  return `${out}}`;
}

const TWO_32 = 4_294_967_296;

/**
 * FNV-1a, 64-bit, over the UTF-16 code units of a string, in plain number arithmetic.
 * The pure core takes no crypto module, and this is change detection, not security: a
 * spec is compared only with the previous version of the same object, where a 64-bit
 * collision is negligible. The FNV prime is 2^40 + 0x1b3, so a multiply is a shift plus
 * a small multiply on two 32-bit halves.
 */
export function fnv1a64(text: string): string {
  let hi = 0xcbf29ce4;
  let lo = 0x84222325;
  for (let i = 0; i < text.length; i++) {
    lo = (lo ^ text.charCodeAt(i)) >>> 0;
    const low = lo * 0x1b3; // < 2^41: exact in a double
    const carry = Math.floor(low / TWO_32);
    hi = (Math.imul(hi, 0x1b3) + carry + ((lo << 8) >>> 0)) >>> 0;
    lo = low >>> 0;
  }
  return hi.toString(16).padStart(8, '0') + lo.toString(16).padStart(8, '0');
}

/** Stable hash of a spec (canonical JSON, FNV-1a 64): the shell writes only when this changed. */
export function specHash(spec: unknown): string {
  return `fnv1a64:${fnv1a64(canonicalJSON(spec))}`;
}
