// Equality of plan parts, ignoring key order and undefined members (as the API server
// does when it serialises). Used to keep a part's triggerTime when its content did not
// change. Endpoints are compared field by field, far cheaper than serialising both sides
// at 100k endpoints; the few other fields through canonical JSON.
import type { ServiceNatPlanEndpoint, ServiceNatPlanSpec } from '@natplan/api';
import { canonicalJson } from '@natplan/controller-kit/hash';

function sameList<T>(a: readonly T[] | undefined, b: readonly T[] | undefined, same: (x: T, y: T) => boolean): boolean {
  if (a === b) return true;
  if (!a || !b || a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (!same(a[i] as T, b[i] as T)) return false;
  return true;
}

/** Equality of two plan endpoints, field by field (every schema field): this runs for every endpoint of a replanned Service. */
export function sameEndpoint(a: ServiceNatPlanEndpoint, b: ServiceNatPlanEndpoint): boolean {
  return a.address === b.address && a.nodeName === b.nodeName && a.zone === b.zone
    && a.ready === b.ready && a.serving === b.serving && a.terminating === b.terminating
    && a.forCluster === b.forCluster && a.forLocal === b.forLocal
    && sameList(a.ports, b.ports, (x, y) => x.name === y.name && x.port === y.port)
    && sameList(a.forZones, b.forZones, (x, y) => x === y)
    && sameList(a.forNodes, b.forNodes, (x, y) => x === y);
  // That is every field of the schema; the API server prunes any other.
}

/** Whether two part specs are equal apart from triggerTime. */
export function samePartContent(a: ServiceNatPlanSpec, b: ServiceNatPlanSpec): boolean {
  const { endpoints: endpointsA, triggerTime: _a, ...restA } = a;
  const { endpoints: endpointsB, triggerTime: _b, ...restB } = b;
  return sameList(endpointsA, endpointsB, sameEndpoint) && canonicalJson(restA) === canonicalJson(restB);
}
