/**
 * The operator's informer caches: the only place it reads the cluster. Secondary indexes
 * let a reconcile find a Service's EndpointSlices and plan parts without scanning.
 */
import type { KubernetesObject, V1EndpointSlice, V1Namespace, V1Node, V1Service } from '@kubernetes/client-node';
import type { ClusterAccess, KubeClient, Logger } from '@natplan/controller-kit';
import { Informer, kubeListWatcher } from '@natplan/controller-kit';
import type { NatExposureGrant, NatExposurePolicy, NodeNatPlan, ServiceNatPlan } from '@natplan/api';

/** Label on every ServiceNatPlan naming its Service (plans of one Service share it). */
export const SERVICE_NAME_LABEL = 'natplan.io/service-name';
/** The EndpointSlice label naming its Service. */
export const SLICE_SERVICE_LABEL = 'kubernetes.io/service-name';
export const BY_SERVICE = 'by-service';

export interface OperatorCaches {
  services: Informer<V1Service>;
  slices: Informer<V1EndpointSlice>;
  nodes: Informer<V1Node>;
  policies: Informer<NatExposurePolicy>;
  /** Admin grants of addresses and ports to namespaces. */
  grants: Informer<NatExposureGrant>;
  /** Namespaces, only for their labels (grants select namespaces by label). */
  namespaces: Informer<V1Namespace>;
  servicePlans: Informer<ServiceNatPlan>;
  nodePlans: Informer<NodeNatPlan>;
}

/** `namespace/<label value>` for objects that point at a Service by label. */
export function serviceKeyByLabel(label: string): (obj: KubernetesObject) => string[] {
  return (obj) => {
    const name = obj.metadata?.labels?.[label];
    return name && obj.metadata?.namespace ? [`${obj.metadata.namespace}/${name}`] : [];
  };
}

export function createCaches(kubeConfig: ClusterAccess, client: KubeClient, logger: Logger): OperatorCaches {
  const make = <T extends KubernetesObject>(apiVersion: string, kind: string) =>
    new Informer<T>(kubeListWatcher<T>(kubeConfig, client, { apiVersion, kind }), { name: kind, logger });
  const caches: OperatorCaches = {
    services: make<V1Service>('v1', 'Service'),
    slices: make<V1EndpointSlice>('discovery.k8s.io/v1', 'EndpointSlice'),
    nodes: make<V1Node>('v1', 'Node'),
    policies: make<NatExposurePolicy>('natplan.io/v1alpha1', 'NatExposurePolicy'),
    grants: make<NatExposureGrant>('natplan.io/v1alpha1', 'NatExposureGrant'),
    namespaces: make<V1Namespace>('v1', 'Namespace'),
    servicePlans: make<ServiceNatPlan>('natplan.io/v1alpha1', 'ServiceNatPlan'),
    nodePlans: make<NodeNatPlan>('natplan.io/v1alpha1', 'NodeNatPlan'),
  };
  caches.slices.store.addIndex(BY_SERVICE, serviceKeyByLabel(SLICE_SERVICE_LABEL));
  caches.servicePlans.store.addIndex(BY_SERVICE, serviceKeyByLabel(SERVICE_NAME_LABEL));
  return caches;
}

export function allInformers(caches: OperatorCaches): Informer<KubernetesObject>[] {
  return Object.values(caches) as Informer<KubernetesObject>[];
}
