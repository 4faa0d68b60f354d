import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { ServiceNatPlanEndpoint, ServiceNatPlanSpec } from '@natplan/api';
import { deepEqual, sameEndpoint, samePartContent } from './equality.js';
import { canonicalJSON } from './naming.js';

describe('deepEqual', () => {
  it.each<[string, unknown, unknown, boolean]>([
    ['key order ignored', { a: 1, b: [1, { c: 2 }] }, { b: [1, { c: 2 }], a: 1 }, true],
    ['undefined members ignored', { a: 1, b: undefined }, { a: 1 }, true],
    ['array order matters', [1, 2], [2, 1], false],
    ['extra key', { a: 1 }, { a: 1, b: 2 }, false],
    ['array vs object', [], {}, false],
    ['null vs object', null, {}, false],
    ['number vs string', 1, '1', false],
  ])('%s', (_name, a, b, expected) => {
    expect(deepEqual(a, b)).toBe(expected);
    expect(deepEqual(b, a)).toBe(expected);
  });

  it('agrees with comparing canonical JSON', () => {
    fc.assert(fc.property(fc.jsonValue(), fc.jsonValue(), (a, b) => {
      expect(deepEqual(a, b)).toBe(canonicalJSON(a) === canonicalJSON(b));
      expect(deepEqual(a, JSON.parse(JSON.stringify(a)))).toBe(true);
    }), { numRuns: 300 });
  });
});

describe('samePartContent', () => {
  const endpoint: ServiceNatPlanEndpoint = { address: '10.244.1.5', nodeName: 'node-a', ready: true, ports: [{ name: 'http', port: 8080 }], forCluster: true, forZones: ['zone-1'] };
  const spec: ServiceNatPlanSpec = { service: { name: 'web' }, part: 1, endpointCount: 1, endpoints: [endpoint], triggerTime: '2026-11-22T10:00:00Z' };

  it.each<[string, ServiceNatPlanSpec, boolean]>([
    ['only the trigger time differs', { ...spec, triggerTime: '2026-11-22T11:00:00Z' }, true],
    ['key order differs', { triggerTime: undefined, endpoints: [{ forZones: ['zone-1'], forCluster: true, ports: [{ port: 8080, name: 'http' }], ready: true, nodeName: 'node-a', address: '10.244.1.5' }], endpointCount: 1, part: 1, service: { name: 'web' } }, true],
    ['an endpoint condition differs', { ...spec, endpoints: [{ ...endpoint, ready: false }] }, false],
    ['a target port differs', { ...spec, endpoints: [{ ...endpoint, ports: [{ name: 'http', port: 8081 }] }] }, false],
    ['a zone hint is gone', { ...spec, endpoints: [{ ...endpoint, forZones: undefined }] }, false],
    ['a node hint appears', { ...spec, endpoints: [{ ...endpoint, forNodes: ['node-a'] }] }, false],
    ['an extra field', { ...spec, endpoints: [{ ...endpoint, forLocal: false }] }, false],
    ['the part number differs', { ...spec, part: 2 }, false],
  ])('%s', (_name, other, expected) => {
    expect(samePartContent(spec, other)).toBe(expected);
    expect(samePartContent(other, spec)).toBe(expected);
  });

  it('agrees with deepEqual on random endpoints', () => {
    const arbitrary = fc.record({
      address: fc.constantFrom('10.244.1.5', '10.244.1.6'),
      nodeName: fc.option(fc.constantFrom('node-a', 'node-b'), { nil: undefined }),
      ready: fc.option(fc.boolean(), { nil: undefined }),
      ports: fc.array(fc.record({ name: fc.constantFrom('a', 'b'), port: fc.constantFrom(1, 2) }), { maxLength: 2 }),
      forZones: fc.option(fc.array(fc.constantFrom('z1', 'z2'), { maxLength: 2 }), { nil: undefined }),
      forNodes: fc.option(fc.array(fc.constantFrom('n1', 'n2'), { maxLength: 2 }), { nil: undefined }),
    }, { requiredKeys: ['address', 'ports'] });
    fc.assert(fc.property(arbitrary, arbitrary, (a, b) => {
      expect(sameEndpoint(a, b)).toBe(deepEqual(a, b));
    }), { numRuns: 300 });
  });
});
