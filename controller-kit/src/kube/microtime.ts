/**
 * metav1.MicroTime as the API server wants it: RFC 3339 with exactly six fractional
 * digits (`2026-01-01T00:00:00.123000Z`). client-node's serializer passes MicroTime fields
 * through untouched, so a plain Date there is written by Date.toJSON with three digits,
 * which Lease and events.k8s.io Event writes reject (only its V1MicroTime subclass pads
 * to six). controller-kit formats these fields itself, as strings.
 */
export function formatMicroTime(at: Date | number): string {
  return new Date(at).toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');
}

/** Parses a MicroTime or Time string to epoch milliseconds (sub-millisecond digits dropped). */
export function parseMicroTime(text: string): number {
  const normalized = text.replace(/\.(\d{3})\d*(Z|[+-]\d{2}:\d{2})$/, '.$1$2');
  const ms = Date.parse(normalized);
  if (Number.isNaN(ms)) throw new Error(`not an RFC 3339 time: ${text}`);
  return ms;
}
