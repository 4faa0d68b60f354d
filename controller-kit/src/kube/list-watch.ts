import type { KubeConfig, KubernetesObject } from '@kubernetes/client-node';
// The Watch module alone: the package's index (and its KubeConfig) loads every generated
// API model, about 45 MB of RSS (cluster-access.ts).
import { Watch } from '@kubernetes/client-node/dist/watch.js';
import type { ClusterAccess } from './cluster-access.js';
import type { KubeClient } from './client.js';
import { call } from './request.js';
import { resourcePath } from './resources.js';

export type WatchEventType = 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK' | 'ERROR';

/**
 * The two calls an informer needs, with the resource and selectors already bound.
 * `watch` reports each event, then `onDone` exactly once: with no error when the server
 * closed the stream normally, with an error otherwise. An `ERROR` event carries a
 * metav1.Status (410 Gone when the resourceVersion is too old).
 */
export interface ListWatcher<T> {
  list(): Promise<{ items: T[]; resourceVersion: string }>;
  watch(resourceVersion: string, onEvent: (type: WatchEventType, obj: T) => void, onDone: (err?: unknown) => void): Promise<{ abort(): void }>;
}

export interface ListWatchTarget {
  apiVersion: string;
  kind: string;
  /** Only this namespace; all namespaces unless given. */
  namespace?: string;
  labelSelector?: string;
  fieldSelector?: string;
  /** Page size of the initial list; 500 unless given (client-go's default). */
  pageSize?: number;
  /**
   * Keep `metadata.managedFields` on cached objects. Off unless asked: no reader here uses
   * them, and a server-side-applied object's managedFields are about as large as its spec,
   * so every cache would hold each object nearly twice (controller-runtime strips them
   * in caches for the same reason).
   */
  keepManagedFields?: boolean;
}

/** `obj` without metadata.managedFields (a shallow copy; `obj` itself is not changed). */
function withoutManagedFields<T extends KubernetesObject>(obj: T): T {
  if (!obj.metadata?.managedFields) return obj;
  const { managedFields: _dropped, ...metadata } = obj.metadata;
  return { ...obj, metadata };
}

/** A ListWatcher on the real API server: paginated list, then client-node's Watch stream with bookmarks. */
export function kubeListWatcher<T extends KubernetesObject>(kubeConfig: ClusterAccess, client: KubeClient, target: ListWatchTarget): ListWatcher<T> {
  // Watch reads only getCurrentCluster and applyToFetchOptions, which ClusterAccess has.
  const watcher = new Watch(kubeConfig as KubeConfig);
  const selectors = { labelSelector: target.labelSelector, fieldSelector: target.fieldSelector };
  const cached = target.keepManagedFields ? <U extends T>(obj: U): U => obj : withoutManagedFields;
  const pathOf = async () => resourcePath(await client.resolver.resolve(target.apiVersion, target.kind), { namespace: target.namespace });
  return {
    async list() {
      const path = await pathOf();
      const items: T[] = [];
      let continueToken: string | undefined;
      let resourceVersion = '';
      do {
        const page = await call<{ items: T[]; metadata?: { resourceVersion?: string; continue?: string } }>(client.requester, {
          method: 'GET', path, query: { ...selectors, limit: target.pageSize ?? 500, continue: continueToken },
        });
        // List responses omit apiVersion/kind on items; restore them so cached objects are self-describing.
        for (const item of page.items) items.push(cached({ apiVersion: target.apiVersion, kind: target.kind, ...item }));
        resourceVersion = page.metadata?.resourceVersion ?? resourceVersion;
        continueToken = page.metadata?.continue || undefined;
      } while (continueToken);
      return { items, resourceVersion };
    },
    async watch(resourceVersion, onEvent, onDone) {
      const path = await pathOf();
      // The server ends a watch after timeoutSeconds; spreading it (5-10 min, as client-go
      // does) keeps many informers from reconnecting at the same moment.
      const timeoutSeconds = 300 + Math.floor(Math.random() * 300);
      const controller = await watcher.watch(
        path,
        { ...selectors, resourceVersion, allowWatchBookmarks: true, timeoutSeconds },
        (type: string, obj: T) => onEvent(type as WatchEventType, obj && typeof obj === 'object' ? cached(obj) : obj),
        (err: unknown) => onDone(err ?? undefined),
      );
      return { abort: () => controller.abort() };
    },
  };
}
