import type { KubernetesObject, V1OwnerReference } from '@kubernetes/client-node';
import { typeOf, type KubeClient } from './kube/client.js';
import { call } from './kube/request.js';
import { resourcePath } from './kube/resources.js';

/**
 * An owner reference to `owner`, for garbage collection: the owned object is deleted with
 * its owner. `controller: true` marks the single managing owner.
 */
export function ownerReference(owner: KubernetesObject, options: { controller?: boolean; blockOwnerDeletion?: boolean } = {}): V1OwnerReference {
  const { apiVersion, kind } = owner;
  const name = owner.metadata?.name;
  const uid = owner.metadata?.uid;
  if (!apiVersion || !kind || !name || !uid) throw new Error('owner needs apiVersion, kind, metadata.name and metadata.uid');
  return { apiVersion, kind, name, uid, controller: options.controller ?? true, blockOwnerDeletion: options.blockOwnerDeletion ?? false };
}

export function hasFinalizer(obj: KubernetesObject, finalizer: string): boolean {
  return obj.metadata?.finalizers?.includes(finalizer) ?? false;
}

/** True when the object is being deleted and waits for finalizers. */
export function isBeingDeleted(obj: KubernetesObject): boolean {
  return obj.metadata?.deletionTimestamp !== undefined;
}

/** Adds `finalizer` (no-op if present). Conflicts (409) mean the object changed: retry from the cache. */
export async function addFinalizer<T extends KubernetesObject>(client: KubeClient, obj: T, finalizer: string): Promise<T> {
  if (hasFinalizer(obj, finalizer)) return obj;
  return patchFinalizers(client, obj, [...(obj.metadata?.finalizers ?? []), finalizer]);
}

/** Removes `finalizer` (no-op if absent), letting a pending deletion finish. */
export async function removeFinalizer<T extends KubernetesObject>(client: KubeClient, obj: T, finalizer: string): Promise<T> {
  if (!hasFinalizer(obj, finalizer)) return obj;
  return patchFinalizers(client, obj, (obj.metadata?.finalizers ?? []).filter((f) => f !== finalizer));
}

/**
 * A merge patch of the whole finalizer list, guarded by resourceVersion: finalizers are a
 * list shared with other controllers, so writing it from a stale copy must fail, not
 * silently drop someone else's entry.
 */
async function patchFinalizers<T extends KubernetesObject>(client: KubeClient, obj: T, finalizers: string[]): Promise<T> {
  const type = await typeOf(client, obj);
  return call<T>(client.requester, {
    method: 'PATCH',
    path: resourcePath(type, { namespace: obj.metadata?.namespace, name: obj.metadata?.name }),
    body: JSON.stringify({ metadata: { finalizers, resourceVersion: obj.metadata?.resourceVersion } }),
    contentType: 'application/merge-patch+json',
  });
}
