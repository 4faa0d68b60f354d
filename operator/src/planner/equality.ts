// Structural equality of plain JSON-like data, ignoring key order and undefined members
// (as the API server does when it serialises). Used to keep a part's triggerTime when its
// content did not change; far cheaper than serialising both sides at 100k endpoints.
import type { ServiceNatPlanEndpoint, ServiceNatPlanSpec } from '@natplan/api';

export function deepEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  if (Array.isArray(a) && Array.isArray(b)) {
    if (a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (!deepEqual(a[i], b[i])) return false;
    return true;
  }
  const left = a as Record<string, unknown>;
  const right = b as Record<string, unknown>;
  let definedInLeft = 0;
  for (const key in left) {
    if (left[key] === undefined) continue;
    definedInLeft++;
    if (!deepEqual(left[key], right[key])) return false;
  }
  let definedInRight = 0;
  for (const key in right) if (right[key] !== undefined) definedInRight++;
  return definedInLeft === definedInRight;
}

function sameList<T>(a: readonly T[] | undefined, b: readonly T[] | undefined, same: (x: T, y: T) => boolean): boolean {
  if (a === b) return true;
  if (!a || !b || a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (!same(a[i] as T, b[i] as T)) return false;
  return true;
}

/** deepEqual for two plan endpoints, field by field (every schema field): this runs for every endpoint of a replanned Service. */
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
  return sameList(endpointsA, endpointsB, sameEndpoint) && deepEqual(restA, restB);
}
