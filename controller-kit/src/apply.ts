import type { KubernetesObject } from '@kubernetes/client-node';
import { typeOf, type KubeClient } from './kube/client.js';
import { call } from './kube/request.js';
import { resourcePath } from './kube/resources.js';

/**
 * Server-side apply (PATCH, `application/apply-patch+yaml`; JSON is valid YAML). The
 * object sent is the complete intent of `fieldManager`: fields it applied before and
 * omits now are removed by the server. `force` takes ownership of fields another manager
 * set, as a controller that is the single writer of its objects should.
 */
export interface ApplyOptions {
  fieldManager: string;
  /** true unless given. */
  force?: boolean;
  dryRun?: boolean;
}

export interface ApplyResult<T> {
  /** The object as stored after the apply. */
  object: T;
  /** Bytes of the request body: the write-cost metric. */
  bytesWritten: number;
}

const APPLY_PATCH = 'application/apply-patch+yaml';

const SERVER_SET_METADATA = [
  'managedFields', 'resourceVersion', 'uid', 'creationTimestamp', 'generation',
  'selfLink', 'deletionTimestamp', 'deletionGracePeriodSeconds',
] as const;

export async function applyObject<T extends KubernetesObject>(client: KubeClient, obj: T, options: ApplyOptions): Promise<ApplyResult<T>> {
  return apply(client, obj, options, undefined);
}

/**
 * Applies `obj.status` through the status subresource. Send only apiVersion, kind,
 * metadata name/namespace and status: the status endpoint ignores spec changes, and a
 * separate manager field set keeps spec and status ownership apart.
 */
export async function applyStatus<T extends KubernetesObject>(client: KubeClient, obj: T, options: ApplyOptions): Promise<ApplyResult<T>> {
  return apply(client, obj, options, 'status');
}

async function apply<T extends KubernetesObject>(client: KubeClient, obj: T, options: ApplyOptions, subresource: string | undefined): Promise<ApplyResult<T>> {
  const type = await typeOf(client, obj);
  const name = obj.metadata?.name;
  if (!name) throw new Error(`apply ${type.kind}: metadata.name required`);
  const metadata = { ...obj.metadata };
  // Server-populated metadata is not intent: resourceVersion would turn the apply into a
  // conflict check, managedFields is refused, and the rest would make this manager own
  // them, so re-applying an object read back from the server would rewrite managedFields
  // (a real write) although nothing changed.
  for (const field of SERVER_SET_METADATA) delete metadata[field];
  const body = JSON.stringify({ ...obj, metadata });
  const object = await call<T>(client.requester, {
    method: 'PATCH',
    path: resourcePath(type, { namespace: obj.metadata?.namespace, name, subresource }),
    query: { fieldManager: options.fieldManager, force: options.force ?? true, dryRun: options.dryRun ? 'All' : undefined },
    body,
    contentType: APPLY_PATCH,
  });
  return { object, bytesWritten: Buffer.byteLength(body) };
}

/** Deletes an object; a missing object counts as deleted. Returns whether it existed. */
export async function deleteObject(client: KubeClient, obj: KubernetesObject, options: { propagationPolicy?: 'Foreground' | 'Background' | 'Orphan' } = {}): Promise<boolean> {
  const type = await typeOf(client, obj);
  try {
    await call(client.requester, {
      method: 'DELETE',
      path: resourcePath(type, { namespace: obj.metadata?.namespace, name: obj.metadata?.name }),
      query: { propagationPolicy: options.propagationPolicy },
    });
    return true;
  } catch (err) {
    if ((err as { statusCode?: number }).statusCode === 404) return false;
    throw err;
  }
}
