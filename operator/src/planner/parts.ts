// Splitting a Service's endpoints into plan parts (ServiceNatPlan objects).
//
// The API write budget (DESIGN.md §1) wants an endpoint change to cost O(1) writes and
// about the bytes of the EndpointSlice change. So assignment is sticky: the previous
// parts are an input, every surviving endpoint stays in the part it was in, gone ones
// simply leave, and new ones go to the part with the most room (a new part only when all
// are full). Adding or removing one endpoint therefore rewrites exactly one part.
import type { ServiceNatPlanEndpoint, ServiceNatPlanSpec } from '@natplan/api';
import { compareText } from './endpoints.js';

/** Highest part number the ServiceNatPlan schema allows. */
export const MAX_PART = 999;
/**
 * Bytes of endpoints per part. Objects must stay under 256 KiB; part 0 also carries up to
 * ~30 KiB of frontends, and metadata and managedFields need room too. Binds only for
 * endpoints with many ports: 100 endpoints with two ports are ~25 KiB.
 */
export const ENDPOINT_BYTES_PER_PART = 200 * 1024;

/** A safe upper bound of an endpoint's JSON size; cheaper than JSON.stringify at 100k endpoints. */
export function estimateEndpointBytes(e: ServiceNatPlanEndpoint): number {
  let bytes = 160 + e.address.length + (e.nodeName?.length ?? 0) + (e.zone?.length ?? 0);
  for (const p of e.ports) bytes += 26 + p.name.length;
  for (const z of e.forZones ?? []) bytes += 3 + z.length;
  // The base covers every other key; `"forNodes":[],` is 14 more.
  if (e.forNodes) bytes += 14;
  for (const n of e.forNodes ?? []) bytes += 3 + n.length;
  return bytes;
}

interface OpenPart {
  readonly part: number;
  endpoints: ServiceNatPlanEndpoint[];
  bytes: number;
}

/** Max-heap of parts by free slots, lowest part number first on ties: "the part with the most room". */
class RoomHeap {
  private readonly items: OpenPart[] = [];
  constructor(private readonly capacity: number) {}

  private before(a: OpenPart, b: OpenPart): boolean {
    return a.endpoints.length !== b.endpoints.length ? a.endpoints.length < b.endpoints.length : a.part < b.part;
  }

  push(item: OpenPart): void {
    const items = this.items;
    items.push(item);
    for (let i = items.length - 1; i > 0; ) {
      const parent = (i - 1) >> 1;
      if (!this.before(items[i] as OpenPart, items[parent] as OpenPart)) break;
      [items[i], items[parent]] = [items[parent] as OpenPart, items[i] as OpenPart];
      i = parent;
    }
  }

  /** The part with the most room, removed from the heap; undefined when every part is full. */
  pop(): OpenPart | undefined {
    const items = this.items;
    const top = items[0];
    const last = items.pop();
    if (top === undefined || last === undefined) return undefined;
    if (items.length > 0) {
      items[0] = last;
      for (let i = 0; ; ) {
        const left = 2 * i + 1;
        const right = left + 1;
        let best = i;
        if (left < items.length && this.before(items[left] as OpenPart, items[best] as OpenPart)) best = left;
        if (right < items.length && this.before(items[right] as OpenPart, items[best] as OpenPart)) best = right;
        if (best === i) break;
        [items[i], items[best]] = [items[best] as OpenPart, items[i] as OpenPart];
        i = best;
      }
    }
    return top.endpoints.length < this.capacity ? top : undefined;
  }
}

export interface PartsResult {
  /** Sorted by part number; part 0 always exists; endpoints sorted by address. */
  readonly parts: readonly { readonly part: number; readonly endpoints: readonly ServiceNatPlanEndpoint[] }[];
  /** Endpoints left out because the Service needs more than MAX_PART + 1 parts. */
  readonly droppedEndpoints: number;
}

const fits = (p: OpenPart, bytes: number, capacity: number): boolean =>
  p.endpoints.length < capacity && (p.endpoints.length === 0 || p.bytes + bytes <= ENDPOINT_BYTES_PER_PART);

/**
 * Assigns endpoints to parts. `previous` are the specs of the Service's plan objects as
 * they exist now (any order; empty on first plan or after the Service was recreated).
 */
export function assignParts(
  endpoints: readonly ServiceNatPlanEndpoint[],
  previous: readonly ServiceNatPlanSpec[],
  capacity: number,
): PartsResult {
  const previousPart = new Map<string, number>();
  for (const spec of previous) {
    if (!Number.isInteger(spec.part) || spec.part < 0 || spec.part > MAX_PART) continue;
    for (const e of spec.endpoints ?? []) previousPart.set(e.address, spec.part);
  }
  // Survivors first, grouped by their previous part. Only a part that no longer holds all
  // of its survivors (a smaller capacity, or endpoints that grew) needs sorting to decide
  // deterministically who moves; sorting all 100k endpoints every time would cost more
  // than the rest of the assignment.
  const open = new Map<number, OpenPart>([[0, { part: 0, endpoints: [], bytes: 0 }]]);
  const pending: ServiceNatPlanEndpoint[] = [];
  for (const endpoint of endpoints) {
    const number = previousPart.get(endpoint.address);
    if (number === undefined) {
      pending.push(endpoint);
      continue;
    }
    let part = open.get(number);
    if (!part) {
      part = { part: number, endpoints: [], bytes: 0 };
      open.set(number, part);
    }
    part.endpoints.push(endpoint);
    part.bytes += estimateEndpointBytes(endpoint);
  }
  for (const part of open.values()) {
    if (part.endpoints.length <= capacity && part.bytes <= ENDPOINT_BYTES_PER_PART) continue;
    const survivors = part.endpoints.sort((a, b) => compareText(a.address, b.address));
    part.endpoints = [];
    part.bytes = 0;
    for (const endpoint of survivors) {
      const bytes = estimateEndpointBytes(endpoint);
      if (fits(part, bytes, capacity)) {
        part.endpoints.push(endpoint);
        part.bytes += bytes;
      } else {
        pending.push(endpoint);
      }
    }
  }
  pending.sort((a, b) => compareText(a.address, b.address));

  const heap = new RoomHeap(capacity);
  for (const part of open.values()) heap.push(part);
  let droppedEndpoints = 0;
  let nextNumber = 0;
  for (const endpoint of pending) {
    const bytes = estimateEndpointBytes(endpoint);
    let target = heap.pop();
    // A part with free slots but no free bytes is full for this endpoint; set it aside.
    const tooFull: OpenPart[] = [];
    while (target && !fits(target, bytes, capacity)) {
      tooFull.push(target);
      target = heap.pop();
    }
    for (const part of tooFull) heap.push(part);
    if (!target) {
      while (open.has(nextNumber)) nextNumber++;
      if (nextNumber > MAX_PART) {
        droppedEndpoints++;
        continue;
      }
      target = { part: nextNumber, endpoints: [], bytes: 0 };
      open.set(nextNumber, target);
    }
    target.endpoints.push(endpoint);
    target.bytes += bytes;
    heap.push(target);
  }

  const parts = [...open.values()]
    .filter((p) => p.part === 0 || p.endpoints.length > 0)
    .sort((a, b) => a.part - b.part)
    .map((p) => ({ part: p.part, endpoints: p.endpoints.sort((a, b) => compareText(a.address, b.address)) }));
  return { parts, droppedEndpoints };
}
