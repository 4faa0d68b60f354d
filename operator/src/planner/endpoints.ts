// Turns a Service's EndpointSlices into one list of endpoints, each with its target port
// per Service port. Slices may overlap (during a rollout an address can sit in two
// slices), so endpoints are merged by address, keeping the healthiest copy.
import type { V1Endpoint, V1EndpointSlice } from '@kubernetes/client-node';
import type { ServiceNatPlanEndpointPort, ServiceNatPlanPort } from '@natplan/api';
import { canonicalAddr, type IPFamily, LEGACY } from '@natplan/netaddr';
import type { PlanWarning } from './warnings.js';

/** An endpoint with its conditions resolved and its source slice remembered for part layout. */
export interface CollectedEndpoint {
  readonly address: string;
  readonly nodeName: string | undefined;
  readonly zone: string | undefined;
  readonly ready: boolean;
  readonly serving: boolean;
  readonly terminating: boolean;
  /** Target port per Service port name, in the Service's port order. */
  readonly ports: readonly ServiceNatPlanEndpointPort[];
  /** Zones the EndpointSlice controller hinted this endpoint for (sorted, empty when none). */
  readonly zoneHints: readonly string[];
  /** Nodes it hinted this endpoint for (PreferSameNode; sorted, empty when none). */
  readonly nodeHints: readonly string[];
  /** Name of the slice this copy came from. */
  readonly slice: string;
}

const NO_HINTS: readonly string[] = Object.freeze([]);

/**
 * The EndpointSlice API leaves conditions optional: an unknown `ready` means ready, an
 * unknown `serving` means the same as `ready`, an unknown `terminating` means not.
 */
function conditionsOf(endpoint: V1Endpoint): { ready: boolean; serving: boolean; terminating: boolean } {
  const ready = endpoint.conditions?.ready ?? true;
  return { ready, serving: endpoint.conditions?.serving ?? ready, terminating: endpoint.conditions?.terminating ?? false };
}

/** Target ports a slice offers for the Service's ports; matched by port name and protocol. */
function slicePortMap(slice: V1EndpointSlice, servicePorts: readonly ServiceNatPlanPort[]): ServiceNatPlanEndpointPort[] {
  const out: ServiceNatPlanEndpointPort[] = [];
  for (const servicePort of servicePorts) {
    const match = (slice.ports ?? []).find((p) => (p.name ?? '') === servicePort.name && (p.protocol ?? 'TCP') === servicePort.protocol);
    if (match?.port !== undefined && match.port >= 1 && match.port <= 65_535) out.push({ name: servicePort.name, port: match.port });
  }
  return out;
}

function health(e: CollectedEndpoint): number {
  return e.ready ? 2 : e.serving ? 1 : 0;
}

/**
 * Total order of copies of one address: healthiest first, then slice name, then content,
 * so the kept copy never depends on the order the informer delivered things in.
 */
function compareCopies(a: CollectedEndpoint, b: CollectedEndpoint): number {
  return health(b) - health(a) || compareText(a.slice, b.slice) || compareText(JSON.stringify(a), JSON.stringify(b));
}

/** Folds the copies of one address into one endpoint: the best copy, plus ports only others have. */
function mergeCopies(copies: CollectedEndpoint[], portOrder: ReadonlyMap<string, number>, warnings: PlanWarning[]): CollectedEndpoint {
  const [best, ...others] = copies.sort(compareCopies);
  if (!best) throw new Error('mergeCopies: no copies'); // unreachable: groups are never empty
  if (others.length === 0) return best;
  const ports = [...best.ports];
  for (const other of others) {
    for (const port of other.ports) {
      const existing = ports.find((p) => p.name === port.name);
      if (!existing) ports.push(port);
      else if (existing.port !== port.port) {
        warnings.push({
          reason: 'DuplicateEndpoint',
          message: `endpoint ${best.address}: port ${JSON.stringify(port.name)} is ${existing.port} in slice ${best.slice} and ${port.port} in slice ${other.slice}; using ${existing.port}`,
        });
      }
    }
  }
  ports.sort((a, b) => (portOrder.get(a.name) ?? 0) - (portOrder.get(b.name) ?? 0));
  return { ...best, ports };
}

/** One slice's endpoints, parsed; what the memo keeps between plans. */
interface SliceEndpoints {
  /** Service ports and families the entry was computed for. */
  readonly key: string;
  readonly endpoints: readonly CollectedEndpoint[];
  readonly warnings: readonly PlanWarning[];
}

/**
 * A memo of per-slice parsing, owned by the shell and passed to every planService call.
 * Keyed by the slice object: an informer replaces the object on every update, so a
 * changed slice always misses, and a deleted one is garbage-collected. It changes no
 * result, only the cost of replanning a large Service after one slice changed.
 */
export type SliceMemo = WeakMap<V1EndpointSlice, SliceEndpoints>;

export function createSliceMemo(): SliceMemo {
  return new WeakMap();
}

function collectSlice(slice: V1EndpointSlice, servicePorts: readonly ServiceNatPlanPort[], sliceFamily: IPFamily, key: string): SliceEndpoints {
  const ports = slicePortMap(slice, servicePorts);
  const sliceName = slice.metadata?.name ?? '';
  const endpoints: CollectedEndpoint[] = [];
  const warnings: PlanWarning[] = [];
  if (ports.length === 0) return { key, endpoints, warnings };
  for (const endpoint of slice.endpoints ?? []) {
    // Consumers use only the first address (EndpointSlice API contract).
    const text = endpoint.addresses[0] ?? '';
    const address = canonicalAddr(text, LEGACY, sliceFamily);
    if (address === undefined) {
      warnings.push({ reason: 'InvalidAddress', message: `slice ${sliceName}: endpoint address ${JSON.stringify(text)} is not an ${sliceFamily} address` });
      continue;
    }
    const conditions = conditionsOf(endpoint);
    const hints = endpoint.hints?.forZones;
    const nodeHints = endpoint.hints?.forNodes;
    endpoints.push({
      address,
      nodeName: endpoint.nodeName || undefined,
      zone: endpoint.zone || undefined,
      ready: conditions.ready,
      serving: conditions.serving,
      terminating: conditions.terminating,
      ports,
      zoneHints: hints && hints.length > 0 ? [...new Set(hints.map((z) => z.name))].sort(compareText) : NO_HINTS,
      nodeHints: nodeHints && nodeHints.length > 0 ? [...new Set(nodeHints.map((n) => n.name))].sort(compareText) : NO_HINTS,
      slice: sliceName,
    });
  }
  return { key, endpoints, warnings };
}

/**
 * Collects the endpoints of the given families from the slices. Slices are visited in
 * name order so the result does not depend on informer order; endpoints that serve none
 * of the Service's ports are left out.
 */
export function collectEndpoints(
  slices: readonly V1EndpointSlice[],
  servicePorts: readonly ServiceNatPlanPort[],
  families: ReadonlySet<IPFamily>,
  warnings: PlanWarning[],
  memo?: SliceMemo,
): CollectedEndpoint[] {
  const memoKey = JSON.stringify([servicePorts, [...families]]);
  // First copies in one map, further copies in another: duplicates are rare, and an array
  // per endpoint would cost 100k allocations on a full plan.
  const byAddress = new Map<string, CollectedEndpoint>();
  const duplicates = new Map<string, CollectedEndpoint[]>();
  const ordered = [...slices].sort((a, b) => compareText(a.metadata?.name ?? '', b.metadata?.name ?? ''));
  for (const slice of ordered) {
    const sliceFamily = slice.addressType;
    if ((sliceFamily !== 'IPv4' && sliceFamily !== 'IPv6') || !families.has(sliceFamily)) continue; // FQDN slices, or the other family
    let parsed = memo?.get(slice);
    if (parsed?.key !== memoKey) {
      parsed = collectSlice(slice, servicePorts, sliceFamily, memoKey);
      memo?.set(slice, parsed);
    }
    warnings.push(...parsed.warnings);
    for (const collected of parsed.endpoints) {
      const first = byAddress.get(collected.address);
      if (!first) byAddress.set(collected.address, collected);
      else {
        const more = duplicates.get(collected.address);
        if (more) more.push(collected);
        else duplicates.set(collected.address, [first, collected]);
      }
    }
  }
  const portOrder = new Map(servicePorts.map((p, i) => [p.name, i] as const));
  const out: CollectedEndpoint[] = [];
  for (const [address, first] of byAddress) {
    const copies = duplicates.get(address);
    out.push(copies ? mergeCopies(copies, portOrder, warnings) : first);
  }
  return out;
}

/** Plain code-unit comparison: locale-independent, so plans are byte-identical everywhere. */
export function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
