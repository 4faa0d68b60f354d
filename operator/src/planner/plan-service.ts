// planService: one Service and its EndpointSlices in, its ServiceNatPlan specs out.
// Pure and deterministic: the same snapshot always gives the same specs, so the shell
// can compare hashes and skip writes (a restart with nothing changed writes nothing).
import type { V1EndpointSlice, V1Service } from '@kubernetes/client-node';
import type { ServiceNatPlanEndpoint, ServiceNatPlanSpec } from '@natplan/api';
import { RFC3339 } from '@natplan/api/formats';
import type { PlannerConfig } from './config.js';
import { collectEndpoints, type SliceMemo } from './endpoints.js';
import { samePartContent } from './equality.js';
import { planFrontends } from './frontends.js';
import { assignParts } from './parts.js';
import { decideHandling, type ServiceHandling, type SkipReason } from './selection.js';
import { decideTraffic, topologyRequested } from './traffic.js';
import type { PlanWarning } from './warnings.js';

/** Annotation on EndpointSlices with the time of the change that produced them. */
export const TRIGGER_TIME_ANNOTATION = 'endpoints.kubernetes.io/last-change-trigger-time';

export interface ServicePlanInput {
  readonly service: V1Service;
  /** The Service's EndpointSlices (label kubernetes.io/service-name), in any order. */
  readonly slices: readonly V1EndpointSlice[];
  /**
   * Specs of the Service's plan objects as they exist now, in any order. Endpoints keep
   * their parts, and unchanged parts keep their triggerTime. Ignored when they belong to
   * an earlier Service of the same name (another uid).
   */
  readonly previous?: readonly ServiceNatPlanSpec[];
  /** Whether some NatExposurePolicy targets this Service (resolveExposures().exposedServices). */
  readonly exposed?: boolean;
  /** Optional memo of per-slice parsing (createSliceMemo), shared across calls; changes no result. */
  readonly sliceMemo?: SliceMemo;
}

export type ServicePlanResult =
  | { readonly kind: 'skip'; readonly reason: SkipReason; readonly message: string }
  | {
      readonly kind: 'plan';
      readonly handling: Exclude<ServiceHandling, { kind: 'skip' }>;
      /** Sorted by part number; part 0 is always first. Delete existing parts not listed. */
      readonly parts: readonly ServiceNatPlanSpec[];
      readonly warnings: readonly PlanWarning[];
    };

/** The newest valid RFC 3339 trigger time of the slices, as written (not reformatted). */
function newestTriggerTime(slices: readonly V1EndpointSlice[]): string | undefined {
  let newest: string | undefined;
  let newestMillis = -Infinity;
  for (const slice of slices) {
    const time = slice.metadata?.annotations?.[TRIGGER_TIME_ANNOTATION];
    if (time === undefined || !RFC3339.test(time)) continue;
    const millis = Date.parse(time);
    if (!Number.isNaN(millis) && millis > newestMillis) {
      newest = time;
      newestMillis = millis;
    }
  }
  return newest;
}

function usablePrevious(service: V1Service, previous: readonly ServiceNatPlanSpec[] | undefined): readonly ServiceNatPlanSpec[] {
  const uid = service.metadata?.uid;
  if (!previous || previous.some((spec) => uid !== undefined && spec.service.uid !== undefined && spec.service.uid !== uid)) return [];
  return previous;
}

/** Plans one Service. Never throws on bad input: what cannot be used becomes a warning. */
export function planService(input: ServicePlanInput, config: PlannerConfig): ServicePlanResult {
  const { service } = input;
  const handling = decideHandling(service, config, input.exposed ?? false);
  if (handling.kind === 'skip') return handling;

  const frontends = planFrontends(service, config, handling);
  const warnings: PlanWarning[] = [...frontends.warnings];
  const collected = collectEndpoints(input.slices, frontends.fields.ports ?? [], frontends.families, warnings, input.sliceMemo);
  const decisions = decideTraffic(collected, topologyRequested(service));
  const endpoints: ServiceNatPlanEndpoint[] = collected.map((e, i) => {
    const decision = decisions[i] ?? { forCluster: false, forLocal: false, forZones: undefined, forNodes: undefined };
    return {
      address: e.address,
      ...(e.nodeName !== undefined ? { nodeName: e.nodeName } : {}),
      ...(e.zone !== undefined ? { zone: e.zone } : {}),
      ready: e.ready,
      serving: e.serving,
      terminating: e.terminating,
      ports: [...e.ports],
      forCluster: decision.forCluster,
      forLocal: decision.forLocal,
      ...(decision.forZones !== undefined ? { forZones: [...decision.forZones] } : {}),
      ...(decision.forNodes !== undefined ? { forNodes: [...decision.forNodes] } : {}),
    };
  });

  const previous = usablePrevious(service, input.previous);
  const assigned = assignParts(endpoints, previous, config.maxEndpointsPerPart);
  if (assigned.droppedEndpoints > 0) {
    warnings.push({ reason: 'TooManyEndpoints', message: `${assigned.droppedEndpoints} endpoints do not fit in ${assigned.parts.length} plan parts and were left out` });
  }
  const newest = newestTriggerTime(input.slices);
  const previousByPart = new Map(previous.map((p) => [p.part, p] as const));
  const serviceRef = { name: service.metadata?.name ?? '', ...(service.metadata?.uid ? { uid: service.metadata.uid } : {}) };
  const parts = assigned.parts.map(({ part, endpoints: partEndpoints }) => {
    const spec: ServiceNatPlanSpec = { service: { ...serviceRef }, part };
    if (part === 0) Object.assign(spec, structuredClone(frontends.fields));
    spec.endpointCount = partEndpoints.length;
    if (partEndpoints.length > 0) spec.endpoints = [...partEndpoints];
    // A part whose content did not change keeps its trigger time: stamping the newest
    // time on every part would rewrite all of them on each endpoint change.
    const before = previousByPart.get(part);
    const unchanged = before !== undefined && samePartContent(before, spec);
    const triggerTime = unchanged ? before.triggerTime : newest;
    if (triggerTime !== undefined) spec.triggerTime = triggerTime;
    return spec;
  });
  return { kind: 'plan', handling, parts, warnings };
}
