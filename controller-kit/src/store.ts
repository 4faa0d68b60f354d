import type { KubernetesObject } from '@kubernetes/client-node';
import { objectKey } from './kube/client.js';

/** Maps an object to the index values it is filed under (e.g. an EndpointSlice to its Service key). */
export type IndexFunc<T> = (obj: T) => readonly string[];

/**
 * The informer's cache: objects by `namespace/name` key, plus optional secondary indexes
 * so a reconcile can find related objects without scanning (client-go's Indexer).
 */
export class ObjectStore<T extends KubernetesObject> {
  private readonly objects = new Map<string, T>();
  private readonly indexers = new Map<string, { fn: IndexFunc<T>; entries: Map<string, Set<string>> }>();

  get(key: string): T | undefined {
    return this.objects.get(key);
  }

  list(): T[] {
    return [...this.objects.values()];
  }

  keys(): string[] {
    return [...this.objects.keys()];
  }

  size(): number {
    return this.objects.size;
  }

  /** Adds an index; objects already stored are indexed at once. */
  addIndex(name: string, fn: IndexFunc<T>): void {
    const entries = new Map<string, Set<string>>();
    this.indexers.set(name, { fn, entries });
    for (const [key, obj] of this.objects) this.fileUnder(entries, fn(obj), key);
  }

  /** Objects filed under `value` by index `name`. */
  byIndex(name: string, value: string): T[] {
    const indexer = this.indexers.get(name);
    if (!indexer) throw new Error(`no index named ${name}`);
    const keys = indexer.entries.get(value);
    return keys ? [...keys].flatMap((key) => this.objects.get(key) ?? []) : [];
  }

  /** Stores `obj`, returning the object it replaced. */
  set(obj: T): T | undefined {
    const key = objectKey(obj);
    const old = this.objects.get(key);
    if (old) this.unindex(old, key);
    this.objects.set(key, obj);
    for (const { fn, entries } of this.indexers.values()) this.fileUnder(entries, fn(obj), key);
    return old;
  }

  delete(key: string): T | undefined {
    const old = this.objects.get(key);
    if (!old) return undefined;
    this.unindex(old, key);
    this.objects.delete(key);
    return old;
  }

  private fileUnder(entries: Map<string, Set<string>>, values: readonly string[], key: string): void {
    for (const value of values) {
      let keys = entries.get(value);
      if (!keys) entries.set(value, (keys = new Set()));
      keys.add(key);
    }
  }

  private unindex(obj: T, key: string): void {
    for (const { fn, entries } of this.indexers.values()) {
      for (const value of fn(obj)) {
        const keys = entries.get(value);
        keys?.delete(key);
        if (keys?.size === 0) entries.delete(value);
      }
    }
  }
}
