/**
 * Recomputes every NatExposurePolicy at once (conflicts are between policies, so no
 * policy can be decided alone), keeps the result in memory for the node and Service
 * reconcilers, requeues only the nodes and Services whose inputs changed, and writes each
 * policy's status (conditions with observedGeneration, public endpoints) when it changed,
 * with an Event on every condition transition.
 */
import type { EventRecorder, Logger } from '@natplan/controller-kit';
import { canonicalJson, type Condition, setCondition } from '@natplan/controller-kit';
import type { NatExposurePolicy, NatExposurePolicyStatus } from '@natplan/api';
import { API_SERVER_SERVICE, apiServerEndpointsOf, readyCondition, resolveExposures, type ExposureResolution, type PlannerConfig, type PolicyStatusDraft } from '../planner/index.js';
import { BY_SERVICE, type OperatorCaches } from './caches.js';
import type { PlanWriter } from './plan-writer.js';
import { gatewayMappedStatus } from './gateway-status.js';
import { programmedCondition } from './programmed.js';
import { transitionEvents } from './transition-events.js';

/** The single key of the exposure controller: it always recomputes everything. */
export const EXPOSURES_KEY = 'all-policies';

/** The latest exposure plan, shared with the node and Service reconcilers. */
export interface ExposureState { current: ExposureResolution | undefined }

export interface ExposureReconcilerDeps {
  caches: OperatorCaches;
  planner: PlannerConfig;
  writer: PlanWriter;
  state: ExposureState;
  enqueueNode(name: string): void;
  enqueueService(key: string): void;
  events?: EventRecorder;
  now(): number;
  logger: Logger;
}

/** Computes the plan and requeues what it changed; no API writes (used at start too). */
export function refreshExposures(deps: Pick<ExposureReconcilerDeps, 'caches' | 'planner' | 'state' | 'enqueueNode' | 'enqueueService'>): ExposureResolution {
  const { caches, state } = deps;
  const plan = resolveExposures({
    policies: caches.policies.list(),
    grants: caches.grants.list(),
    namespaces: caches.namespaces.list(),
    apiServerEndpoints: apiServerEndpointsOf(caches.slices.store.byIndex(BY_SERVICE, `${API_SERVER_SERVICE.namespace}/${API_SERVER_SERVICE.name}`)),
    services: caches.services.list(),
    nodes: caches.nodes.list(),
    endpointsOf: (namespace, service) => {
      const parts = caches.servicePlans.store.byIndex(BY_SERVICE, `${namespace}/${service}`);
      return parts.length > 0 ? parts.flatMap((p) => p.spec.endpoints ?? []) : undefined;
    },
  }, deps.planner);
  const previous = state.current;
  state.current = plan;
  if (previous) {
    for (const node of new Set([...previous.byNode.keys(), ...plan.byNode.keys()])) {
      if (canonicalJson(previous.byNode.get(node) ?? []) !== canonicalJson(plan.byNode.get(node) ?? [])) deps.enqueueNode(node);
    }
    for (const key of previous.exposedServices) if (!plan.exposedServices.has(key)) deps.enqueueService(key);
    for (const key of plan.exposedServices) if (!previous.exposedServices.has(key)) deps.enqueueService(key);
  }
  return plan;
}

export function exposureReconciler(deps: ExposureReconcilerDeps): () => Promise<void> {
  return async () => {
    const plan = refreshExposures(deps);
    for (const [key, outcome] of plan.policyStatus) {
      const live = deps.caches.policies.get(key);
      if (!live) continue;
      const status = policyStatus(outcome, live, deps);
      const changed = await deps.writer.applyStatus({
        apiVersion: 'natplan.io/v1alpha1', kind: 'NatExposurePolicy',
        metadata: { name: outcome.policy.name, namespace: outcome.policy.namespace }, status,
      }, live.status);
      if (changed) await recordTransitions(deps, live, live.status?.conditions ?? [], status.conditions ?? []);
    }
  };
}

function policyStatus(draft: PolicyStatusDraft, live: NatExposurePolicy, deps: ExposureReconcilerDeps): NatExposurePolicyStatus {
  const planned = [...draft.publicEndpoints];
  const generation = draft.observedGeneration ?? 0;
  const nodePlan = (node: string) => deps.caches.nodePlans.get(node);
  // The planner can only say what it decided; Programmed comes from what the agents report.
  const grounded = [
    ...draft.conditions.filter((c) => c.type !== 'Programmed'),
    programmedCondition(draft.policy, planned, nodePlan),
  ];
  let publicEndpoints = planned;
  let publicEndpointCount = draft.publicEndpointCount;
  if (draft.gatewayMapped) {
    // Reachable where the gateways granted it, as the agents report; nowhere before.
    const accepted = draft.conditions.some((c) => c.type === 'Accepted' && c.status === 'True');
    const gateway = gatewayMappedStatus(planned, accepted, nodePlan);
    publicEndpoints = gateway.publicEndpoints;
    publicEndpointCount -= planned.length - publicEndpoints.length;
    grounded.push(gateway.condition);
  }
  const drafts = [...grounded, readyCondition(grounded)];
  let conditions = (live.status?.conditions ?? []) as Condition[];
  for (const c of drafts) conditions = setCondition(conditions, { ...c, observedGeneration: generation }, deps.now());
  conditions = conditions.filter((c) => drafts.some((d) => d.type === c.type));
  return { observedGeneration: generation, conditions, publicEndpoints, publicEndpointCount };
}

async function recordTransitions(deps: ExposureReconcilerDeps, policy: NatExposurePolicy, before: readonly Condition[], after: readonly Condition[]): Promise<void> {
  if (!deps.events) return;
  for (const event of transitionEvents(before, after)) {
    await deps.events.record({ ...policy, apiVersion: 'natplan.io/v1alpha1', kind: 'NatExposurePolicy' }, event);
  }
}
