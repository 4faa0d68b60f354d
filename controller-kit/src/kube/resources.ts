import type { Requester } from './request.js';
import { call } from './request.js';

/** Where a kind lives in the API: enough to build its URL paths. */
export interface ResourceType {
  apiVersion: string;
  kind: string;
  /** Lower-case plural, as in the URL: `services`, `leases`. */
  plural: string;
  namespaced: boolean;
}

/** The path of a collection, an object or a subresource of `type`. */
export function resourcePath(type: ResourceType, at: { namespace?: string; name?: string; subresource?: string } = {}): string {
  const base = type.apiVersion.includes('/') ? `/apis/${type.apiVersion}` : `/api/${type.apiVersion}`;
  if (type.namespaced && at.name !== undefined && !at.namespace) throw new Error(`${type.kind} ${at.name}: namespace required`);
  const ns = type.namespaced && at.namespace ? `/namespaces/${encodeURIComponent(at.namespace)}` : '';
  const name = at.name !== undefined ? `/${encodeURIComponent(at.name)}` : '';
  const sub = at.subresource && at.name !== undefined ? `/${at.subresource}` : '';
  return `${base}${ns}/${type.plural}${name}${sub}`;
}

interface DiscoveryList {
  resources: Array<{ name: string; kind: string; namespaced: boolean }>;
}

/**
 * Finds the plural and scope of a kind from the API server's discovery document, once
 * per apiVersion, so callers can name objects by apiVersion and kind alone (CRDs too).
 */
export class ResourceResolver {
  private readonly cache = new Map<string, Promise<DiscoveryList>>();

  constructor(private readonly requester: Requester) {}

  async resolve(apiVersion: string, kind: string): Promise<ResourceType> {
    let list = this.cache.get(apiVersion);
    if (!list) {
      const path = apiVersion.includes('/') ? `/apis/${apiVersion}` : `/api/${apiVersion}`;
      list = call<DiscoveryList>(this.requester, { method: 'GET', path });
      this.cache.set(apiVersion, list);
      // A failed lookup must not stick: a CRD may be installed a moment later.
      list.catch(() => this.cache.delete(apiVersion));
    }
    const found = (await list).resources.find((r) => r.kind === kind && !r.name.includes('/'));
    if (!found) {
      this.cache.delete(apiVersion);
      throw new Error(`kind ${kind} not served by ${apiVersion}`);
    }
    return { apiVersion, kind, plural: found.name, namespaced: found.namespaced };
  }
}
