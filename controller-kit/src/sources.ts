import type { KubernetesObject } from '@kubernetes/client-node';
import { systemClock, type Clock } from './clock.js';
import type { Informer } from './informer.js';
import { objectKey } from './kube/client.js';

/** Anything keys can be added to: a WorkQueue, or a test's recorder. */
export interface KeySink {
  add(key: string): void;
}

/** Maps an object to the keys of the objects whose reconcile depends on it. */
export type KeyMapper<T> = (obj: T) => readonly string[];

/** The object's own key. */
export const ownKey = <T extends KubernetesObject>(obj: T): string[] => [objectKey(obj)];

/**
 * Adds keys to `queue` for every add, update and delete the informer sees. On an update
 * the keys of both the old and the new object are added, so a reconcile also runs for
 * the object something moved away from (e.g. a label change that re-parents it).
 */
export function enqueueOnChange<T extends KubernetesObject>(informer: Informer<T>, queue: KeySink, map: KeyMapper<T> = ownKey): void {
  const addAll = (...objs: T[]) => {
    const keys = new Set(objs.flatMap((obj) => map(obj)));
    for (const key of keys) queue.add(key);
  };
  informer.on({
    add: (obj) => addAll(obj),
    update: (oldObj, newObj) => addAll(oldObj, newObj),
    delete: (obj) => addAll(obj),
  });
}

/**
 * Keys of the owners of `obj` of the given kind, as `namespace/name` (owners live in the
 * object's namespace, or are cluster-scoped when the object is).
 */
export function ownerKeys(kind: string, apiVersion?: string): KeyMapper<KubernetesObject> {
  return (obj) =>
    (obj.metadata?.ownerReferences ?? [])
      .filter((ref) => ref.kind === kind && (apiVersion === undefined || ref.apiVersion === apiVersion))
      .map((ref) => (obj.metadata?.namespace ? `${obj.metadata.namespace}/${ref.name}` : ref.name));
}

/** The key `namespace/<label value>` when the object carries `label` (EndpointSlice -> Service via `kubernetes.io/service-name`). */
export function labelKey(label: string): KeyMapper<KubernetesObject> {
  return (obj) => {
    const value = obj.metadata?.labels?.[label];
    if (!value) return [];
    return [obj.metadata?.namespace ? `${obj.metadata.namespace}/${value}` : value];
  };
}

/**
 * Adds every cached key to `queue` every `everyMs`: a level-based safety net that repairs
 * drift an event did not report (client-go's resync). Returns a function that stops it.
 */
export function resyncPeriodically<T extends KubernetesObject>(informer: Informer<T>, queue: KeySink, everyMs: number, clock: Clock = systemClock, map: KeyMapper<T> = ownKey): () => void {
  let cancel: () => void = () => {};
  const tick = () => {
    if (informer.hasSynced()) for (const obj of informer.list()) for (const key of map(obj)) queue.add(key);
    cancel = clock.setTimer(tick, everyMs);
  };
  cancel = clock.setTimer(tick, everyMs);
  return () => cancel();
}

/** Waits until every informer has synced; false if any stopped first. */
export async function waitForAllSynced(informers: ReadonlyArray<{ waitForSync(): Promise<boolean> }>): Promise<boolean> {
  const results = await Promise.all(informers.map((informer) => informer.waitForSync()));
  return results.every(Boolean);
}
