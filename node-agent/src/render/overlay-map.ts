/**
 * A read-only Map of set elements: a previous render's map (`base`, in key order) with a
 * few keys replaced or removed (`overlay`). A memo render of a small change builds one in
 * time proportional to the change instead of copying a set of 100k elements; lookups cost
 * one extra Map probe, and iteration merges both in key order, exactly like the map a full
 * render builds. Mutating methods throw: rulesets are immutable.
 */
export class OverlayMap extends Map<string, string> {
  private readonly count: number;
  private sortedOverlay: string[] | undefined;

  /** `overlay`: key -> new value, or null for a key removed from `base`. */
  constructor(readonly base: ReadonlyMap<string, string>, readonly overlay: ReadonlyMap<string, string | null>) {
    super();
    let count = base.size;
    for (const [key, value] of overlay) count += (base.has(key) ? 0 : 1) - (value === null ? 1 : 0);
    this.count = count;
  }

  override get size(): number { return this.count; }

  override get(key: string): string | undefined {
    const value = this.overlay.get(key);
    if (value === undefined) return this.base.get(key);
    return value ?? undefined;
  }

  override has(key: string): boolean {
    const value = this.overlay.get(key);
    return value === undefined ? this.base.has(key) : value !== null;
  }

  override set(): this { throw new Error('OverlayMap is read-only'); }
  override delete(): boolean { throw new Error('OverlayMap is read-only'); }
  override clear(): void { throw new Error('OverlayMap is read-only'); }

  override entries(): MapIterator<[string, string]> { return this.merged() as unknown as MapIterator<[string, string]>; }
  override [Symbol.iterator](): MapIterator<[string, string]> { return this.entries(); }
  override keys(): MapIterator<string> { return mapIterator(this.merged(), ([key]) => key); }
  override values(): MapIterator<string> { return mapIterator(this.merged(), ([, value]) => value); }
  override forEach(callback: (value: string, key: string, map: Map<string, string>) => void, thisArg?: unknown): void {
    for (const [key, value] of this.merged()) callback.call(thisArg, value, key, this);
  }

  private *merged(): Generator<[string, string]> {
    const sorted = (this.sortedOverlay ??= [...this.overlay.keys()].sort());
    let i = 0;
    for (const entry of this.base) {
      const key = entry[0];
      for (let next = sorted[i]; next !== undefined && next < key; next = sorted[++i]) {
        const value = this.overlay.get(next);
        if (typeof value === 'string') yield [next, value];
      }
      if (sorted[i] === key) {
        i++;
        const value = this.overlay.get(key);
        if (typeof value === 'string') yield [key, value];
        continue;
      }
      yield [entry[0], entry[1]];
    }
    for (let next = sorted[i]; next !== undefined; next = sorted[++i]) {
      const value = this.overlay.get(next);
      if (typeof value === 'string') yield [next, value];
    }
  }
}

function mapIterator<T>(entries: Generator<[string, string]>, pick: (entry: [string, string]) => T): MapIterator<T> {
  function* gen(): Generator<T> { for (const entry of entries) yield pick(entry); }
  return gen() as unknown as MapIterator<T>;
}
