/**
 * Turns the cached plans into the renderer's input. Every plan is validated with the
 * validators compiled from the CRD schemas; a plan that fails keeps its last good version
 * in force (bad input loses nothing) and is reported, so the agent can say Degraded with
 * the reason while the rules stay as they were.
 *
 * Validation (ajv plus CEL) is the costly part, so each plan is validated once per
 * uid + resourceVersion: a sync after one change validates that one plan, not all of them.
 * The verdicts live in LastGood beside the last good versions (one source of truth), and
 * both forget a plan once it is gone from the cache.
 */
import type { NodeNatPlan, ServiceNatPlan } from '@natplan/api';
import { validateNodeNatPlan, validateServiceNatPlan, type ValidationResult } from '@natplan/api';
import type { RenderInput } from '../render/index.js';

/** The outcome of validating one version of a plan: undefined problem = valid. */
interface Verdict {
  version: string;
  problem: string | undefined;
  /** The object validated: the informer keeps it until the plan changes, so the same object is a cheaper hit. */
  object: object;
}

export interface LastGood {
  node: NodeNatPlan | undefined;
  services: Map<string, ServiceNatPlan>;
  /** Per plan key ("" for the NodeNatPlan): the verdict for the version last validated. */
  verdicts: Map<string, Verdict>;
  /** Validations skipped (hits) and run (misses), for the benchmark and tests. */
  validations: { hits: number; misses: number };
  /** The plan keys in render order, kept while the set of plans stays the same. */
  order: string[];
  /** The last call's plans (a copy of the list), its render entries and where each key's entry is. */
  last?: { plans: readonly ServiceNatPlan[]; services: RenderInput['services']; at: Map<string, number>; problems: Map<string, string> };
}

export const newLastGood = (): LastGood => ({ node: undefined, services: new Map(), verdicts: new Map(), validations: { hits: 0, misses: 0 }, order: [] });

const invalid = (key: string, problem: string, kept: boolean): string =>
  `ServiceNatPlan ${key} is invalid (${problem})${kept ? '; keeping its last good version' : '; left out'}`;

/**
 * The render entries when the cache lists the same plans in the same order as last time,
 * some replaced by new versions (an informer update keeps an object's place): only those
 * are looked at, so a sync after one change does not scan every plan. Undefined when the
 * plans came, went or moved, or a plan's entry appears or disappears (the full scan then).
 */
function unchangedOrder(servicePlans: readonly ServiceNatPlan[], lastGood: LastGood): { services: RenderInput['services']; problems: string[] } | undefined {
  const last = lastGood.last;
  if (!last || last.plans.length !== servicePlans.length) return undefined;
  const changed: number[] = [];
  for (let i = 0; i < servicePlans.length; i++) {
    const [now, before] = [servicePlans[i] as ServiceNatPlan, last.plans[i] as ServiceNatPlan];
    if (now === before) continue;
    if (keyOf(now) !== keyOf(before)) return undefined;
    changed.push(i);
  }
  if (!changed.length) return { services: last.services, problems: [...last.problems.values()] };
  const services = [...last.services];
  const problems = new Map(last.problems);
  for (const i of changed) {
    const plan = servicePlans[i] as ServiceNatPlan;
    const key = keyOf(plan);
    const problem = check(lastGood, key, plan, () => validateServiceNatPlan({ ...plan, apiVersion: 'natplan.io/v1alpha1', kind: 'ServiceNatPlan' }));
    let use: ServiceNatPlan | undefined = plan;
    if (problem === undefined) { lastGood.services.set(key, plan); problems.delete(key); } else {
      use = lastGood.services.get(key);
      problems.set(key, invalid(key, problem, use !== undefined));
    }
    const at = last.at.get(key);
    if (use === undefined || at === undefined) return undefined;
    services[at] = renderEntry(use);
  }
  const sorted = problems.size ? new Map([...problems].sort(([a], [b]) => (a < b ? -1 : 1))) : problems;
  lastGood.last = { plans: [...servicePlans], services, at: last.at, problems: sorted };
  return { services, problems: [...sorted.values()] };
}

export interface DesiredState {
  /** undefined when there is no usable NodeNatPlan yet: nothing can be synced. */
  input: RenderInput | undefined;
  /** One line per plan that failed validation, for the Degraded condition. */
  problems: string[];
  /** The NodeNatPlan generation the input enforces. */
  generation: number | undefined;
}

const describe = (r: ValidationResult) => (r.valid ? undefined : r.errors.slice(0, 3).map((e) => `${e.path || '(object)'}: ${e.message}`).join('; '));
/** Per informer object (replaced, never mutated, on each update): its key and render entry. */
const keys = new WeakMap<ServiceNatPlan, string>();
const entries = new WeakMap<ServiceNatPlan, RenderInput['services'][number]>();
function keyOf(p: ServiceNatPlan): string {
  let key = keys.get(p);
  if (key === undefined) keys.set(p, key = `${p.metadata?.namespace ?? ''}/${p.metadata?.name ?? ''}`);
  return key;
}
function renderEntry(p: ServiceNatPlan): RenderInput['services'][number] {
  let entry = entries.get(p);
  if (!entry) entries.set(p, entry = { namespace: p.metadata?.namespace ?? '', name: p.metadata?.name ?? '', spec: p.spec });
  return entry;
}
/** uid + resourceVersion; undefined (never cached) for an object without a resourceVersion. */
const versionOf = (p: { metadata?: { uid?: string; resourceVersion?: string } }) =>
  (p.metadata?.resourceVersion ? `${p.metadata.uid ?? ''}@${p.metadata.resourceVersion}` : undefined);

/** The problem of this version of a plan, validated only if this version was not seen before. */
function check(lastGood: LastGood, key: string, object: { metadata?: { uid?: string; resourceVersion?: string } }, validate: () => ValidationResult): string | undefined {
  const known = lastGood.verdicts.get(key);
  if (known && known.object === object) {
    lastGood.validations.hits++;
    return known.problem;
  }
  const version = versionOf(object);
  if (version !== undefined && known?.version === version) {
    known.object = object;
    lastGood.validations.hits++;
    return known.problem;
  }
  lastGood.validations.misses++;
  const problem = describe(validate());
  if (version !== undefined) lastGood.verdicts.set(key, { version, problem, object });
  else lastGood.verdicts.delete(key);
  return problem;
}

/** Every plan looked at: validation cache lookups, last good versions, render order. */
function scanPlans(servicePlans: readonly ServiceNatPlan[], lastGood: LastGood, problems: string[]): RenderInput['services'] {
  // Steady state costs a map lookup per plan: keys are computed once per object, and
  // the sort is redone only when plans come or go.
  const current = new Map<string, ServiceNatPlan>();
  let came = false;
  for (const plan of servicePlans) {
    const key = keyOf(plan);
    current.set(key, plan);
    if (!lastGood.verdicts.has(key)) came = true;
  }
  if (came || current.size !== lastGood.order.length) {
    // A deleted plan is forgotten: it cannot come back as "last good", and nothing grows.
    for (const key of lastGood.services.keys()) if (!current.has(key)) lastGood.services.delete(key);
    for (const key of lastGood.verdicts.keys()) if (key !== '' && !current.has(key)) lastGood.verdicts.delete(key);
    lastGood.order = [...current.keys()].sort();
  }
  const services: RenderInput['services'] = [];
  const at = new Map<string, number>();
  const own = new Map<string, string>();
  for (const key of lastGood.order) {
    const plan = current.get(key);
    if (!plan) continue;
    const problem = check(lastGood, key, plan, () => validateServiceNatPlan({ ...plan, apiVersion: 'natplan.io/v1alpha1', kind: 'ServiceNatPlan' }));
    let use: ServiceNatPlan | undefined = plan;
    if (problem === undefined) { if (lastGood.services.get(key) !== plan) lastGood.services.set(key, plan); }
    else {
      use = lastGood.services.get(key);
      own.set(key, invalid(key, problem, use !== undefined));
    }
    if (use) { at.set(key, services.length); services.push(renderEntry(use)); }
  }
  problems.push(...own.values());
  lastGood.last = { plans: [...servicePlans], services, at, problems: own };
  return services;
}

export function desiredState(nodeName: string, nodePlan: NodeNatPlan | undefined, servicePlans: readonly ServiceNatPlan[], lastGood: LastGood): DesiredState {
  const problems: string[] = [];
  let node = nodePlan;
  if (node) {
    const plan = node;
    const problem = check(lastGood, '', plan, () => validateNodeNatPlan({ ...plan, apiVersion: 'natplan.io/v1alpha1', kind: 'NodeNatPlan' }));
    if (problem === undefined) lastGood.node = node;
    else {
      problems.push(`NodeNatPlan ${nodeName} is invalid (${problem})${lastGood.node ? '; keeping its last good version' : ''}`);
      node = lastGood.node;
    }
  }
  const fast = unchangedOrder(servicePlans, lastGood);
  let services: RenderInput['services'];
  if (fast) {
    services = fast.services;
    problems.push(...fast.problems);
  } else services = scanPlans(servicePlans, lastGood, problems);
  if (!node) return { input: undefined, problems, generation: undefined };
  return {
    input: { node: node.spec, services, identity: { nodeName, ...(node.spec.zone ? { zone: node.spec.zone } : {}) } },
    problems,
    generation: node.metadata?.generation,
  };
}
