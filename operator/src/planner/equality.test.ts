import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { ServiceNatPlanEndpoint, ServiceNatPlanSpec } from '@natplan/api';
import { canonicalJson } from '@natplan/controller-kit/hash';
import { sameEndpoint, samePartContent } from './equality.js';

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

  it('agrees with comparing canonical JSON on random endpoints', () => {
    const arbitrary = fc.record({
      address: fc.constantFrom('10.244.1.5', '10.244.1.6'),
      nodeName: fc.option(fc.constantFrom('node-a', 'node-b'), { nil: undefined }),
      ready: fc.option(fc.boolean(), { nil: undefined }),
      ports: fc.array(fc.record({ name: fc.constantFrom('a', 'b'), port: fc.constantFrom(1, 2) }), { maxLength: 2 }),
      forZones: fc.option(fc.array(fc.constantFrom('z1', 'z2'), { maxLength: 2 }), { nil: undefined }),
      forNodes: fc.option(fc.array(fc.constantFrom('n1', 'n2'), { maxLength: 2 }), { nil: undefined }),
    }, { requiredKeys: ['address', 'ports'] });
    fc.assert(fc.property(arbitrary, arbitrary, (a, b) => {
      expect(sameEndpoint(a, b)).toBe(canonicalJson(a) === canonicalJson(b));
    }), { numRuns: 300 });
  });
});
