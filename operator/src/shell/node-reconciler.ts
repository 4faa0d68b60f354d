/**
 * Reconciles one Node name into its NodeNatPlan. The spec depends on the Node, the
 * settings and the exposures assigned to it — never on endpoints — so an endpoint change
 * never rewrites a NodeNatPlan. A deleted Node's plan is deleted (the owner reference
 * would do it too where a garbage collector runs).
 */
import type { V1Node } from '@kubernetes/client-node';
import { ownerReference } from '@natplan/controller-kit';
import type { NodeNatPlan } from '@natplan/api';
import { planNode, type PlannerConfig } from '../planner/index.js';
import type { OperatorCaches } from './caches.js';
import type { ExposureState } from './exposure-reconciler.js';
import type { PlanWriter } from './plan-writer.js';
import { MANAGED_BY } from './service-reconciler.js';

export function nodePlanObject(node: V1Node, planner: PlannerConfig, exposures: ExposureState): NodeNatPlan {
  const name = node.metadata?.name ?? '';
  return {
    apiVersion: 'natplan.io/v1alpha1',
    kind: 'NodeNatPlan',
    metadata: {
      name,
      labels: { ...MANAGED_BY },
      ownerReferences: [ownerReference({ ...node, apiVersion: 'v1', kind: 'Node' }, { controller: true, blockOwnerDeletion: false })],
    },
    spec: planNode({ node, exposures: exposures.current?.byNode.get(name) ?? [] }, planner),
  };
}

export function nodeReconciler(deps: { caches: OperatorCaches; writer: PlanWriter; planner: PlannerConfig; exposures: ExposureState }): (key: string) => Promise<void> {
  return async (name) => {
    const node = deps.caches.nodes.get(name);
    const live = deps.caches.nodePlans.get(name);
    if (!node) {
      if (live) await deps.writer.delete({ ...live, apiVersion: 'natplan.io/v1alpha1', kind: 'NodeNatPlan' });
      return;
    }
    await deps.writer.apply(nodePlanObject(node, deps.planner, deps.exposures), live);
  };
}
