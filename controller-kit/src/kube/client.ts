import type { KubernetesObject } from '@kubernetes/client-node';
import type { ClusterAccess } from './cluster-access.js';
import { kubeRequester } from './kube-requester.js';
import type { Requester } from './request.js';
import { ResourceResolver, type ResourceType } from './resources.js';

/**
 * What controller-kit's API helpers need: a way to send requests and a way to find a
 * kind's URL. Built from a KubeConfig in production, from a recording Requester in
 * unit tests.
 */
export interface KubeClient {
  requester: Requester;
  resolver: ResourceResolver;
}

export function kubeClient(kubeConfig: ClusterAccess): KubeClient {
  const requester = kubeRequester(kubeConfig);
  return { requester, resolver: new ResourceResolver(requester) };
}

export function clientFromRequester(requester: Requester): KubeClient {
  return { requester, resolver: new ResourceResolver(requester) };
}

/** The ResourceType of an object, from its apiVersion and kind. */
export async function typeOf(client: KubeClient, obj: KubernetesObject): Promise<ResourceType> {
  if (!obj.apiVersion || !obj.kind) throw new Error('object needs apiVersion and kind');
  return client.resolver.resolve(obj.apiVersion, obj.kind);
}

/** `namespace/name` for namespaced objects, `name` for cluster-scoped ones: the usual queue key. */
export function objectKey(obj: KubernetesObject): string {
  const name = obj.metadata?.name ?? '';
  const namespace = obj.metadata?.namespace;
  return namespace ? `${namespace}/${name}` : name;
}

/** Splits a key made by `objectKey`. */
export function parseKey(key: string): { namespace?: string; name: string } {
  const slash = key.indexOf('/');
  return slash < 0 ? { name: key } : { namespace: key.slice(0, slash), name: key.slice(slash + 1) };
}
