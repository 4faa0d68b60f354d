/**
 * Reconciles one Service key (`namespace/name`) into its ServiceNatPlan parts: recompute
 * from the caches, apply what changed, delete parts that are no longer planned. A missing
 * or skipped Service leaves no plans behind. Planner warnings (input left out of the plan)
 * become Warning Events on the Service; a refused write is thrown typed by the writer.
 */
import type { V1Service } from '@kubernetes/client-node';
import type { EventRecorder, Logger } from '@natplan/controller-kit';
import { ownerReference, parseKey } from '@natplan/controller-kit';
import type { ServiceNatPlan, ServiceNatPlanSpec } from '@natplan/api';
import { createSliceMemo, planService, servicePlanName, type PlannerConfig } from '../planner/index.js';
import { BY_SERVICE, SERVICE_NAME_LABEL, type OperatorCaches } from './caches.js';
import type { ExposureState } from './exposure-reconciler.js';
import type { PlanWriter } from './plan-writer.js';
import { warningEvents } from './warning-events.js';

export const MANAGED_BY = { 'app.kubernetes.io/managed-by': 'natplan-operator' };

export function servicePlanObject(service: V1Service, spec: ServiceNatPlanSpec): ServiceNatPlan {
  const namespace = service.metadata?.namespace ?? '';
  const name = service.metadata?.name ?? '';
  return {
    apiVersion: 'natplan.io/v1alpha1',
    kind: 'ServiceNatPlan',
    metadata: {
      name: servicePlanName(name, spec.part),
      namespace,
      labels: { ...MANAGED_BY, [SERVICE_NAME_LABEL]: name },
      ownerReferences: [ownerReference({ ...service, apiVersion: 'v1', kind: 'Service' }, { controller: true, blockOwnerDeletion: false })],
    },
    spec,
  };
}

/** The Service as an Event's `regarding` object (informer items carry no apiVersion/kind). */
export const asService = (service: V1Service): V1Service => ({ ...service, apiVersion: 'v1', kind: 'Service' });

export interface ServiceReconcilerDeps {
  caches: OperatorCaches;
  writer: PlanWriter;
  planner: PlannerConfig;
  exposures: ExposureState;
  logger: Logger;
  /** Receives planner warnings as Events on the Service, one per reason (deduplicated by the recorder). */
  events?: EventRecorder;
}

export function serviceReconciler(deps: ServiceReconcilerDeps): (key: string) => Promise<void> {
  const { caches, writer } = deps;
  // Parsed slices are reused across reconciles: a large Service re-parses only the slice that changed.
  const sliceMemo = createSliceMemo();
  return async (key) => {
    const { namespace } = parseKey(key);
    const service = caches.services.get(key);
    const existing = caches.servicePlans.store.byIndex(BY_SERVICE, key);
    let desired: ServiceNatPlan[] = [];
    if (service) {
      const result = planService({
        service,
        slices: caches.slices.store.byIndex(BY_SERVICE, key),
        exposed: deps.exposures.current?.exposedServices.has(key) ?? false,
        // The parts that exist keep their endpoints, so one endpoint change rewrites one part.
        previous: existing.map((p) => p.spec),
        sliceMemo,
      }, deps.planner);
      if (result.kind === 'plan') {
        desired = result.parts.map((p) => servicePlanObject(service, p));
        for (const w of result.warnings) deps.logger.info('plan warning', { service: key, reason: w.reason, message: w.message });
        for (const event of warningEvents(result.warnings)) await deps.events?.record(asService(service), event);
      }
    }
    const live = new Map(existing.map((p) => [p.metadata?.name ?? '', p]));
    for (const obj of desired) await writer.apply(obj, live.get(obj.metadata?.name ?? ''));
    const wanted = new Set(desired.map((d) => d.metadata?.name));
    for (const plan of existing) {
      if (!wanted.has(plan.metadata?.name)) await writer.delete({ ...plan, apiVersion: 'natplan.io/v1alpha1', kind: 'ServiceNatPlan', metadata: { ...plan.metadata, namespace } });
    }
  };
}
