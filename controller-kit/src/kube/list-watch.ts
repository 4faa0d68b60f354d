import type { KubernetesObject } from '@kubernetes/client-node';
import type { ClusterAccess } from './cluster-access.js';
import type { KubeClient } from './client.js';
import { ApiConnection } from './connection.js';
import { call } from './request.js';
import { resourcePath } from './resources.js';
import { openWatchStream } from './watch-stream.js';

export type WatchEventType = 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK' | 'ERROR';

/**
 * The two calls an informer needs, with the resource and selectors already bound.
 * `watch` reports each event, then `onDone` exactly once unless the caller aborted
 * first: with no error when the server closed the stream normally, with an error
 * otherwise (a refused watch's error has the `statusCode`). An `ERROR` event carries a
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

/** Timeouts of the watch streams; the defaults suit production, tests shorten them. */
export interface WatchOptions {
  /** Asked of the server; 300-600 s at random unless given. */
  timeoutSeconds?: number;
  /** Wait for a watch's response headers; the access's `apiTimeouts.requestMs`, else 30 s, unless given. */
  headersTimeoutMs?: number;
  /** A stream still open this long after the server should have closed it is given up; 30 s unless given. */
  closeGraceMs?: number;
}

/** `obj` without metadata.managedFields (a shallow copy; `obj` itself is not changed). */
function withoutManagedFields<T extends KubernetesObject>(obj: T): T {
  if (!obj.metadata?.managedFields) return obj;
  const { managedFields: _dropped, ...metadata } = obj.metadata;
  return { ...obj, metadata };
}

/**
 * A ListWatcher on the real API server: paginated list, then a watch stream with
 * bookmarks (watch-stream.ts), on a keep-alive connection of its own.
 */
export function kubeListWatcher<T extends KubernetesObject>(kubeConfig: ClusterAccess, client: KubeClient, target: ListWatchTarget, options: WatchOptions = {}): ListWatcher<T> {
  const connection = new ApiConnection(kubeConfig);
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
      const timeoutSeconds = options.timeoutSeconds ?? 300 + Math.floor(Math.random() * 300);
      const timeouts = { headersTimeoutMs: options.headersTimeoutMs ?? kubeConfig.apiTimeouts?.requestMs ?? 30_000, endByMs: timeoutSeconds * 1000 + (options.closeGraceMs ?? 30_000) };
      return openWatchStream(
        connection, path, { ...selectors, resourceVersion, allowWatchBookmarks: true, timeoutSeconds }, timeouts,
        (type, obj) => onEvent(type as WatchEventType, (obj && typeof obj === 'object' ? cached(obj as T) : obj) as T),
        onDone,
      );
    },
  };
}
