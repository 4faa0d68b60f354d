import type { KubeClient } from './client.js';
import { call, isNotFound } from './request.js';
import { resourcePath, type ResourceType } from './resources.js';

/** The fields of a coordination.k8s.io/v1 Lease spec that leader election uses. Times are MicroTime strings. */
export interface LeaseRecord {
  holderIdentity?: string;
  leaseDurationSeconds: number;
  acquireTime?: string;
  renewTime?: string;
  leaseTransitions: number;
}

/**
 * Read and optimistic-concurrency writes of one Lease. `create` and `update` throw an
 * ApiError 409 when someone else wrote first (exists / stale resourceVersion).
 */
export interface LeaseStore {
  /** A description for logs: `namespace/name`. */
  readonly description: string;
  get(): Promise<{ record: LeaseRecord; resourceVersion: string } | undefined>;
  create(record: LeaseRecord): Promise<string>;
  update(record: LeaseRecord, resourceVersion: string): Promise<string>;
}

export const LEASE: ResourceType = { apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', plural: 'leases', namespaced: true };

interface LeaseObject {
  metadata: { resourceVersion: string };
  spec?: Partial<LeaseRecord>;
}

/**
 * A LeaseStore on the API server. It writes the Lease as JSON it builds itself, so
 * `acquireTime` and `renewTime` keep the six fractional digits the server requires
 * (a plain Date would be sent with three).
 */
export function kubeLeaseStore(client: KubeClient, namespace: string, name: string): LeaseStore {
  const body = (record: LeaseRecord, resourceVersion?: string) => JSON.stringify({
    apiVersion: LEASE.apiVersion,
    kind: LEASE.kind,
    metadata: { name, namespace, ...(resourceVersion ? { resourceVersion } : {}) },
    spec: record,
  });
  const toRecord = (lease: LeaseObject): LeaseRecord => ({
    holderIdentity: lease.spec?.holderIdentity,
    leaseDurationSeconds: lease.spec?.leaseDurationSeconds ?? 0,
    acquireTime: lease.spec?.acquireTime,
    renewTime: lease.spec?.renewTime,
    leaseTransitions: lease.spec?.leaseTransitions ?? 0,
  });
  return {
    description: `${namespace}/${name}`,
    async get() {
      try {
        const lease = await call<LeaseObject>(client.requester, { method: 'GET', path: resourcePath(LEASE, { namespace, name }) });
        return { record: toRecord(lease), resourceVersion: lease.metadata.resourceVersion };
      } catch (err) {
        if (isNotFound(err)) return undefined;
        throw err;
      }
    },
    async create(record) {
      const lease = await call<LeaseObject>(client.requester, { method: 'POST', path: resourcePath(LEASE, { namespace }), body: body(record) });
      return lease.metadata.resourceVersion;
    },
    async update(record, resourceVersion) {
      const lease = await call<LeaseObject>(client.requester, { method: 'PUT', path: resourcePath(LEASE, { namespace, name }), body: body(record, resourceVersion) });
      return lease.metadata.resourceVersion;
    },
  };
}
