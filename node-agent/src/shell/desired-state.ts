/**
 * Turns the cached plans into the renderer's input. Every plan is validated with the
 * validators compiled from the CRD schemas; a plan that fails keeps its last good version
 * in force (bad input loses nothing) and is reported, so the agent can say Degraded with
 * the reason while the rules stay as they were.
 */
import type { NodeNatPlan, ServiceNatPlan } from '../../../crds/generated/types.js';
import { validateNodeNatPlan, validateServiceNatPlan, type ValidationResult } from '../../../crds/validation/index.js';
import type { RenderInput } from '../render/index.js';

export interface LastGood {
  node: NodeNatPlan | undefined;
  services: Map<string, ServiceNatPlan>;
}

export interface DesiredState {
  /** undefined when there is no usable NodeNatPlan yet: nothing can be synced. */
  input: RenderInput | undefined;
  /** One line per plan that failed validation, for the Degraded condition. */
  problems: string[];
  /** The NodeNatPlan generation the input enforces. */
  generation: number | undefined;
}

const describe = (r: ValidationResult) => (r.valid ? '' : r.errors.slice(0, 3).map((e) => `${e.path || '(object)'}: ${e.message}`).join('; '));
const keyOf = (p: ServiceNatPlan) => `${p.metadata?.namespace ?? ''}/${p.metadata?.name ?? ''}`;

export function desiredState(nodeName: string, nodePlan: NodeNatPlan | undefined, servicePlans: readonly ServiceNatPlan[], lastGood: LastGood): DesiredState {
  const problems: string[] = [];
  let node = nodePlan;
  if (node) {
    const verdict = validateNodeNatPlan({ ...node, apiVersion: 'natplan.io/v1alpha1', kind: 'NodeNatPlan' });
    if (verdict.valid) lastGood.node = node;
    else {
      problems.push(`NodeNatPlan ${nodeName} is invalid (${describe(verdict)})${lastGood.node ? '; keeping its last good version' : ''}`);
      node = lastGood.node;
    }
  }
  const present = new Set<string>();
  const services: RenderInput['services'] = [];
  for (const plan of [...servicePlans].sort((a, b) => (keyOf(a) < keyOf(b) ? -1 : 1))) {
    const key = keyOf(plan);
    present.add(key);
    const verdict = validateServiceNatPlan({ ...plan, apiVersion: 'natplan.io/v1alpha1', kind: 'ServiceNatPlan' });
    let use: ServiceNatPlan | undefined = plan;
    if (verdict.valid) lastGood.services.set(key, plan);
    else {
      use = lastGood.services.get(key);
      problems.push(`ServiceNatPlan ${key} is invalid (${describe(verdict)})${use ? '; keeping its last good version' : '; left out'}`);
    }
    if (use) services.push({ namespace: use.metadata?.namespace ?? '', name: use.metadata?.name ?? '', spec: use.spec });
  }
  for (const key of lastGood.services.keys()) if (!present.has(key)) lastGood.services.delete(key);
  if (!node) return { input: undefined, problems, generation: undefined };
  return {
    input: { node: node.spec, services, identity: { nodeName, ...(node.spec.zone ? { zone: node.spec.zone } : {}) } },
    problems,
    generation: node.metadata?.generation,
  };
}
