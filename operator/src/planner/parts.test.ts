// Part assignment: surviving endpoints keep their part, new ones go to the part with the
// most room, so one endpoint change rewrites one part (DESIGN.md §1 write budget).
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { ServiceNatPlanEndpoint, ServiceNatPlanSpec } from '@natplan/api';
import { assignParts, ENDPOINT_BYTES_PER_PART, estimateEndpointBytes } from './parts.js';
import { planService } from './plan-service.js';
import { canonicalJson } from '@natplan/controller-kit/hash';
import { makeConfig, makeEndpoint, makeService, makeSlice } from './test-builders.js';

const endpoint = (address: string, ports = 1): ServiceNatPlanEndpoint => ({
  address, nodeName: 'node-a', zone: 'zone-1', ready: true, serving: true, terminating: false,
  ports: Array.from({ length: ports }, (_, i) => ({ name: `port-${i}`, port: 8000 + i })), forCluster: true, forLocal: true,
});
const range = (base: number, count: number): ServiceNatPlanEndpoint[] => Array.from({ length: count }, (_, i) => endpoint(`10.244.${base}.${i + 1}`));
const previousOf = (parts: readonly { part: number; endpoints: readonly ServiceNatPlanEndpoint[] }[]): ServiceNatPlanSpec[] =>
  parts.map((p) => ({ service: { name: 'web' }, part: p.part, endpoints: [...p.endpoints] }));
const shape = (parts: readonly { part: number; endpoints: readonly ServiceNatPlanEndpoint[] }[]) => parts.map((p) => [p.part, p.endpoints.length]);

describe('assignParts', () => {
  it('puts a Service without endpoints in an empty part 0', () => {
    expect(assignParts([], [], 100)).toEqual({ parts: [{ part: 0, endpoints: [] }], droppedEndpoints: 0 });
  });

  it('fills parts in address order on a first plan', () => {
    const { parts } = assignParts([...range(2, 60), ...range(1, 90)], [], 100);
    expect(shape(parts)).toEqual([[0, 100], [1, 50]]);
    expect(parts[0]?.endpoints[0]?.address).toBe('10.244.1.1');
    const addresses = parts.flatMap((p) => p.endpoints.map((e) => e.address));
    expect(new Set(addresses).size).toBe(150);
  });

  it('keeps survivors in their part; a new endpoint goes to the part with the most room', () => {
    const first = assignParts(range(1, 250), [], 100); // parts of 100, 100, 50
    const gone = first.parts[0]?.endpoints[3]?.address;
    const survivors = range(1, 250).filter((e) => e.address !== gone);
    const second = assignParts([...survivors, endpoint('10.244.9.9')], previousOf(first.parts), 100);
    expect(shape(second.parts)).toEqual([[0, 99], [1, 100], [2, 51]]);
    expect(second.parts[2]?.endpoints.map((e) => e.address)).toContain('10.244.9.9');
    expect(second.parts[1]?.endpoints).toEqual(first.parts[1]?.endpoints);
  });

  it('ties on room go to the lowest part number; a new part only when all are full', () => {
    const first = assignParts(range(1, 200), [], 100);
    const grown = assignParts([...range(1, 200), endpoint('10.244.9.1')], previousOf(first.parts), 100);
    expect(shape(grown.parts)).toEqual([[0, 100], [1, 100], [2, 1]]);
    const shrunk = assignParts(range(1, 200).filter((e) => !['10.244.1.1', '10.244.1.200'].includes(e.address)), previousOf(first.parts), 100);
    const refilled = assignParts([...shrunk.parts.flatMap((p) => p.endpoints), endpoint('10.244.9.1')], previousOf(shrunk.parts), 100);
    expect(shape(refilled.parts)).toEqual([[0, 100], [1, 99]]);
  });

  it('drops emptied parts except part 0, which carries the frontends', () => {
    const first = assignParts(range(1, 150), [], 100);
    const onlySecond = first.parts[1]?.endpoints ?? [];
    expect(shape(assignParts(onlySecond, previousOf(first.parts), 100).parts)).toEqual([[0, 0], [1, 50]]);
  });

  it('ignores previous part numbers outside the schema range', () => {
    const previous: ServiceNatPlanSpec[] = [{ service: { name: 'web' }, part: 1000, endpoints: [endpoint('10.244.1.1')] }];
    expect(shape(assignParts([endpoint('10.244.1.1')], previous, 100).parts)).toEqual([[0, 1]]);
  });

  it('cuts parts by bytes as well as by count', () => {
    const heavy = Array.from({ length: 300 }, (_, i) => endpoint(`10.244.${i >> 8}.${i & 255}`, 40));
    const { parts } = assignParts(heavy, [], 1000);
    expect(parts.length).toBe(3); // ~1.5 KB each, 300 of them: three parts of at most 200 KiB
    for (const part of parts) expect(JSON.stringify(part.endpoints).length).toBeLessThanOrEqual(ENDPOINT_BYTES_PER_PART);
    expect(parts.reduce((n, p) => n + p.endpoints.length, 0)).toBe(300);
  });

  it('estimates at least the real JSON size of an endpoint', () => {
    const arbitraryEndpoint = fc.record({
      address: fc.oneof(fc.ipV4(), fc.ipV6()),
      nodeName: fc.string({ maxLength: 253 }),
      zone: fc.string({ maxLength: 63 }),
      ports: fc.array(fc.record({ name: fc.string({ maxLength: 63 }), port: fc.integer({ min: 1, max: 65535 }) }), { maxLength: 128 }),
      forZones: fc.array(fc.string({ maxLength: 63 }), { maxLength: 8 }),
      forNodes: fc.array(fc.string({ maxLength: 253 }), { maxLength: 8 }),
    });
    fc.assert(fc.property(arbitraryEndpoint, (e) => {
      // Escapes count as one character: names are DNS labels, so there are none in practice.
      const full: ServiceNatPlanEndpoint = { ...e, ready: false, serving: false, terminating: false, forCluster: false, forLocal: false };
      const ascii = JSON.stringify(full).replace(/\\u[0-9a-f]{4}|\\./g, 'x');
      expect(estimateEndpointBytes(full)).toBeGreaterThanOrEqual(ascii.length);
    }), { numRuns: 200 });
  });

  it('every endpoint lands in exactly one part, whatever the history', () => {
    const addresses = fc.uniqueArray(fc.integer({ min: 0, max: 2000 }), { maxLength: 400 });
    fc.assert(fc.property(addresses, addresses, fc.integer({ min: 1, max: 120 }), (before, after, capacity) => {
      const toEndpoints = (ids: number[]) => ids.map((i) => endpoint(`10.244.${i >> 8}.${i & 255}`));
      const first = assignParts(toEndpoints(before), [], capacity);
      const second = assignParts(toEndpoints(after), previousOf(first.parts), capacity);
      const placed = second.parts.flatMap((p) => p.endpoints.map((e) => e.address)).sort();
      expect(placed).toEqual(toEndpoints(after).map((e) => e.address).sort());
      for (const part of second.parts) expect(part.endpoints.length).toBeLessThanOrEqual(capacity);
      // Survivors stay where they were.
      const was = new Map(first.parts.flatMap((p) => p.endpoints.map((e) => [e.address, p.part] as const)));
      for (const part of second.parts) for (const e of part.endpoints) if (was.has(e.address)) expect(was.get(e.address)).toBe(part.part);
    }), { numRuns: 100 });
  });
});

describe('write budget', () => {
  const slices = [1, 2, 3].map((n) => makeSlice('web', `web-${n}`, Array.from({ length: 100 }, (_, i) => makeEndpoint(`10.244.${n}.${i + 1}`, { node: `node-${i % 7}` }))));
  const plan = (input: Parameters<typeof planService>[0]) => {
    const result = planService(input, makeConfig());
    if (result.kind !== 'plan') throw new Error('expected a plan');
    return result.parts;
  };
  const changedParts = (a: readonly ServiceNatPlanSpec[], b: readonly ServiceNatPlanSpec[]) => {
    const before = new Map(a.map((p) => [p.part, canonicalJson(p)]));
    return b.filter((p) => before.get(p.part) !== canonicalJson(p)).map((p) => p.part);
  };

  it.each<[string, (s: typeof slices) => void]>([
    ['an endpoint turns not-ready', (s) => { s[1]!.endpoints[5]!.conditions = { ready: false, serving: false, terminating: true }; }],
    ['an endpoint goes away', (s) => { s[2]!.endpoints.splice(40, 1); }],
    ['an endpoint appears', (s) => { s[0]!.endpoints.push(makeEndpoint('10.244.7.7', { node: 'node-1' })); }],
  ])('%s: exactly one part changes', (_name, change) => {
    const first = plan({ service: makeService('ns1', 'web'), slices });
    const changed = slices.map((s) => structuredClone(s));
    change(changed);
    const second = plan({ service: makeService('ns1', 'web'), slices: changed, previous: first });
    expect(changedParts(first, second)).toHaveLength(1);
  });

  it('nothing changed: nothing to write, trigger times kept', () => {
    const stamped = slices.map((s, i) => ({ ...s, metadata: { ...s.metadata, annotations: { 'endpoints.kubernetes.io/last-change-trigger-time': `2026-11-22T10:00:0${i}Z` } } }));
    const first = plan({ service: makeService('ns1', 'web'), slices: stamped });
    expect(first.map((p) => p.triggerTime)).toEqual(['2026-11-22T10:00:02Z', '2026-11-22T10:00:02Z', '2026-11-22T10:00:02Z']);
    const newer = stamped.map((s) => structuredClone(s));
    newer[0]!.metadata!.annotations!['endpoints.kubernetes.io/last-change-trigger-time'] = '2026-11-22T11:00:00Z';
    newer[0]!.endpoints[0]!.conditions = { ready: false };
    const second = plan({ service: makeService('ns1', 'web'), slices: newer, previous: first });
    expect(second.map((p) => p.triggerTime)).toEqual(['2026-11-22T11:00:00Z', '2026-11-22T10:00:02Z', '2026-11-22T10:00:02Z']);
    expect(changedParts(second, plan({ service: makeService('ns1', 'web'), slices: newer, previous: second }))).toEqual([]);
  });

  it('previous parts of a deleted and recreated Service (another uid) are ignored', () => {
    const first = plan({ service: makeService('ns1', 'web'), slices });
    const recreated = makeService('ns1', 'web', (s) => { s.metadata!.uid = 'uid-new'; });
    const reversedHistory = first.map((p) => ({ ...p, part: first.length - 1 - p.part }));
    const second = plan({ service: recreated, slices, previous: reversedHistory });
    expect(second.map((p) => p.endpoints?.[0]?.address)).toEqual(first.map((p) => p.endpoints?.[0]?.address));
  });
});
