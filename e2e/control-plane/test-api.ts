/** Thin helpers over client-node for operator tests: create, patch, list, and a write counter. */
import { CoreV1Api, CustomObjectsApi, DiscoveryV1Api, KubernetesObjectApi, PatchStrategy, Watch, type KubeConfig, type KubernetesObject } from '@kubernetes/client-node';

export function testApi(kc: KubeConfig) {
  const core = kc.makeApiClient(CoreV1Api);
  const discovery = kc.makeApiClient(DiscoveryV1Api);
  const custom = kc.makeApiClient(CustomObjectsApi);
  const objects = KubernetesObjectApi.makeApiClient(kc);
  const plans = async (plural: 'servicenatplans' | 'nodenatplans' | 'natexposurepolicies', namespace?: string) => {
    const list = (namespace
      ? await custom.listNamespacedCustomObject({ group: 'natplan.io', version: 'v1alpha1', namespace, plural })
      : await custom.listClusterCustomObject({ group: 'natplan.io', version: 'v1alpha1', plural })) as { items: any[] }; // eslint-disable-line @typescript-eslint/no-explicit-any
    return list.items;
  };
  return {
    core, discovery, custom, objects,
    create: <T extends KubernetesObject>(obj: T) => objects.create(obj),
    apply: <T extends KubernetesObject>(obj: T) => objects.patch(obj, undefined, undefined, 'natplan-test', true, PatchStrategy.ServerSideApply),
    delete: (obj: KubernetesObject) => objects.delete(obj),
    plans,
  };
}

export interface WriteCounter {
  counts(): Record<string, number>;
  total(): number;
  reset(): void;
  /** Whether the watch delivered the write that produced `resourceVersion` (so every write before it too). */
  saw(resourceVersion: string): boolean;
  /** The resourceVersions of every write seen. */
  versions(): string[];
  stop(): void;
}

/**
 * Counts ADDED/MODIFIED/DELETED events of a natplan resource from a watch that starts at
 * the current resourceVersion: every write the API server accepted from now on. The watch
 * replays from that version, so nothing is missed while it connects; a reader that needs
 * "every write up to X" waits for `saw(X)` (events arrive in resourceVersion order).
 */
export async function countWrites(kc: KubeConfig, plural: string): Promise<WriteCounter> {
  const seen: Record<string, number> = {};
  const versions = new Set<string>();
  const list = await kc.makeApiClient(CustomObjectsApi).listClusterCustomObject({ group: 'natplan.io', version: 'v1alpha1', plural }) as { metadata: { resourceVersion: string } };
  const watch = new Watch(kc);
  const req = await watch.watch(`/apis/natplan.io/v1alpha1/${plural}`, { resourceVersion: list.metadata.resourceVersion }, (type, obj: KubernetesObject) => {
    if (type === 'BOOKMARK') return;
    if (obj.metadata?.resourceVersion) versions.add(obj.metadata.resourceVersion);
    const key = `${type} ${obj.metadata?.namespace ? `${obj.metadata.namespace}/` : ''}${obj.metadata?.name}`;
    seen[key] = (seen[key] ?? 0) + 1;
  }, () => {});
  return {
    counts: () => ({ ...seen }),
    total: () => Object.values(seen).reduce((a, b) => a + b, 0),
    reset: () => { for (const k of Object.keys(seen)) delete seen[k]; },
    saw: (resourceVersion) => versions.has(resourceVersion),
    versions: () => [...versions],
    stop: () => req.abort(),
  };
}
