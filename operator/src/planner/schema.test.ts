// Properties over random input: every plan the planner writes is accepted by the CRD
// schemas (structural part via ajv, the CEL rules restated here), stays under the object
// size limit, and does not depend on input order.
import fc from 'fast-check';
import { Ajv } from 'ajv';
import { describe, expect, it } from 'vitest';
import type { V1EndpointSlice, V1Service } from '@kubernetes/client-node';
import { crdSchemas } from '@natplan/api';
import type { ServiceNatPlanSpec } from '@natplan/api';
import { planNode } from './plan-node.js';
import { planService } from './plan-service.js';
import { makeConfig, makeEndpoint, makeNode, makeService, makeSlice } from './test-builders.js';

// x-kubernetes-* keywords are unknown to ajv; formats are the API server's business.
const ajv = new Ajv({ strict: false, validateFormats: false, allErrors: true });
const validateServicePlan = ajv.compile(crdSchemas.ServiceNatPlan.schema);
const validateNodePlan = ajv.compile(crdSchemas.NodeNatPlan.schema);

/** The ServiceNatPlan CEL rules, restated. */
function celErrors(spec: ServiceNatPlanSpec): string[] {
  const errors: string[] = [];
  if (spec.part !== 0 && (spec.ports || spec.clusterIPs || spec.externalIPs || spec.loadBalancerIPs)) errors.push('frontends outside part 0');
  if (spec.endpoints && spec.endpointCount !== undefined && spec.endpointCount !== spec.endpoints.length) errors.push('endpointCount');
  if (spec.sessionAffinity && (spec.sessionAffinity.type === 'ClientIP') !== (spec.sessionAffinity.timeoutSeconds !== undefined)) errors.push('affinity timeout');
  return errors;
}

const zone = fc.constantFrom('zone-1', 'zone-2', 'zone-3');
const arbitraryEndpoint = fc.record({
  v4: fc.integer({ min: 0, max: 65_535 }),
  node: fc.option(fc.constantFrom('node-a', 'node-b', 'node-c'), { nil: undefined }),
  zone: fc.option(zone, { nil: undefined }),
  ready: fc.option(fc.boolean(), { nil: undefined }),
  serving: fc.option(fc.boolean(), { nil: undefined }),
  terminating: fc.option(fc.boolean(), { nil: undefined }),
  zoneHints: fc.option(fc.uniqueArray(zone, { maxLength: 3 }), { nil: undefined }),
});
type InputOf<A> = A extends fc.Arbitrary<infer T> ? T : never;
const arbitraryInput = fc.record({
  type: fc.constantFrom('ClusterIP', 'NodePort', 'LoadBalancer'),
  affinity: fc.boolean(),
  topology: fc.boolean(),
  eTPLocal: fc.boolean(),
  externalIPs: fc.subarray(['192.0.2.10', '198.51.100.99', '2001:db8::10', 'bogus']),
  sourceRanges: fc.subarray(['203.0.113.0/24', '2001:db8::/48', 'bogus']),
  slices: fc.array(fc.array(arbitraryEndpoint, { maxLength: 30 }), { maxLength: 4 }),
});

function build(input: InputOf<typeof arbitraryInput>): { service: V1Service; slices: V1EndpointSlice[] } {
  const service = makeService('ns1', 'svc1', (s) => {
    s.spec!.type = input.type;
    s.spec!.ports = [{ name: 'http', protocol: 'TCP', port: 80, ...(input.type !== 'ClusterIP' ? { nodePort: 30080 } : {}) }, { name: 'dns', protocol: 'UDP', port: 53 }];
    if (input.affinity) s.spec!.sessionAffinity = 'ClientIP';
    if (input.topology) s.spec!.trafficDistribution = 'PreferClose';
    if (input.eTPLocal) { s.spec!.externalTrafficPolicy = 'Local'; s.spec!.healthCheckNodePort = 32000; }
    s.spec!.externalIPs = input.externalIPs;
    s.spec!.loadBalancerSourceRanges = input.sourceRanges;
    if (input.type === 'LoadBalancer') s.status = { loadBalancer: { ingress: [{ ip: '198.51.100.7' }] } };
  });
  const slices = input.slices.map((endpoints, i) => makeSlice('svc1', `svc1-${i}`, endpoints.map((e) =>
    makeEndpoint(`10.244.${e.v4 >> 8}.${e.v4 & 255}`, {
      ...(e.node ? { node: e.node } : {}), ...(e.zone ? { zone: e.zone } : {}),
      ...(e.ready !== undefined ? { ready: e.ready } : {}), ...(e.serving !== undefined ? { serving: e.serving } : {}),
      ...(e.terminating !== undefined ? { terminating: e.terminating } : {}), ...(e.zoneHints ? { zoneHints: e.zoneHints } : {}),
    })), (s) => { s.ports = [{ name: 'http', protocol: 'TCP', port: 8080 }, { name: 'dns', protocol: 'UDP', port: 5353 }]; }));
  return { service, slices };
}

describe('plans satisfy the CRD schema', () => {
  it('every ServiceNatPlan part validates, fits in 256 KiB, and is order-independent', () => {
    fc.assert(fc.property(arbitraryInput, (input) => {
      const { service, slices } = build(input);
      const result = planService({ service, slices }, makeConfig());
      if (result.kind !== 'plan') throw new Error('expected a plan');
      for (const part of result.parts) {
        const object = { apiVersion: 'natplan.io/v1alpha1', kind: 'ServiceNatPlan', metadata: { name: 'svc1', namespace: 'ns1' }, spec: part };
        expect(validateServicePlan(object), JSON.stringify(validateServicePlan.errors)).toBe(true);
        expect(celErrors(part)).toEqual([]);
        expect(JSON.stringify(object).length).toBeLessThan(256 * 1024);
      }
      const shuffled = planService({ service, slices: [...slices].reverse().map((s) => ({ ...s, endpoints: [...s.endpoints].reverse() })) }, makeConfig());
      expect(JSON.stringify(shuffled)).toBe(JSON.stringify(result));
    }), { numRuns: 150 });
  });

  it('a 5,000-endpoint Service is split into parts that each validate', () => {
    const slices = Array.from({ length: 50 }, (_, s) => makeSlice('svc1', `svc1-${String(s).padStart(2, '0')}`,
      Array.from({ length: 100 }, (_, i) => makeEndpoint(`10.244.${s}.${i + 1}`, { node: `node-${i % 40}`, zone: 'zone-1' }))));
    const result = planService({ service: makeService('ns1', 'svc1'), slices }, makeConfig());
    if (result.kind !== 'plan') throw new Error('expected a plan');
    expect(result.parts).toHaveLength(50);
    expect(result.parts.reduce((n, p) => n + (p.endpointCount ?? 0), 0)).toBe(5000);
    for (const part of result.parts) expect(validateServicePlan({ spec: part })).toBe(true);
  });

  it('NodeNatPlan specs validate', () => {
    const spec = planNode({ node: makeNode('node-a', 2), exposures: [{
      policy: { namespace: 'default', name: 'p' }, service: 'web', servicePort: 80, address: '172.18.0.2', port: 8080, protocol: 'TCP', sourceNAT: 'Masquerade',
    }] }, makeConfig());
    expect(validateNodePlan({ metadata: { name: 'node-a' }, spec }), JSON.stringify(validateNodePlan.errors)).toBe(true);
  });
});
