// The feature table for endpoints: conditions, terminating fallback, per-node local
// fallback, topology-hint safeguards, port mapping, dual-stack and slice merging.
import { describe, expect, it } from 'vitest';
import type { V1EndpointSlice, V1Service } from '@kubernetes/client-node';
import type { ServiceNatPlanEndpoint } from '@natplan/api';
import { createSliceMemo } from './endpoints.js';
import { planService } from './plan-service.js';
import { makeConfig, makeEndpoint as ep, makeService, makeSlice } from './test-builders.js';

/** All planned endpoints (every part), reduced to address -> the fields a row checks. */
/** Plans the slices for a Service that asks for topology-aware routing (PreferClose). */
function planned(slices: V1EndpointSlice[], mutate?: (s: V1Service) => void): Map<string, ServiceNatPlanEndpoint> {
  const service = makeService('ns1', 'svc1', (s) => {
    s.spec!.trafficDistribution = 'PreferClose';
    mutate?.(s);
  });
  const result = planService({ service, slices }, makeConfig());
  if (result.kind !== 'plan') throw new Error('expected a plan');
  return new Map(result.parts.flatMap((p) => p.endpoints ?? []).map((e) => [e.address, e]));
}

type Flags = Pick<ServiceNatPlanEndpoint, 'forCluster' | 'forLocal' | 'forZones' | 'forNodes'>;
const flags = (e: ServiceNatPlanEndpoint | undefined): Flags | undefined =>
  e && { forCluster: e.forCluster, forLocal: e.forLocal, ...(e.forZones ? { forZones: e.forZones } : {}), ...(e.forNodes ? { forNodes: e.forNodes } : {}) };

describe('planService endpoint decisions', () => {
  it.each<[string, V1EndpointSlice[], Record<string, Flags | undefined>]>([
    ['ready endpoints carry cluster and local traffic', [makeSlice('svc1', 's1', [ep('10.244.1.5', { node: 'node-a' }), ep('10.244.2.9', { node: 'node-b', ready: true })])], {
      '10.244.1.5': { forCluster: true, forLocal: true },
      '10.244.2.9': { forCluster: true, forLocal: true },
    }],
    ['not-ready endpoints carry nothing while another is ready', [makeSlice('svc1', 's1', [ep('10.244.1.5', { node: 'node-a' }), ep('10.244.2.9', { node: 'node-b', ready: false, serving: false })])], {
      '10.244.1.5': { forCluster: true, forLocal: true },
      '10.244.2.9': { forCluster: false, forLocal: false },
    }],
    ['no ready endpoint anywhere: serving-terminating ones take cluster traffic', [makeSlice('svc1', 's1', [
      ep('10.244.1.5', { node: 'node-a', ready: false, serving: true, terminating: true }),
      ep('10.244.2.9', { node: 'node-b', ready: false, serving: false, terminating: true }),
    ])], {
      '10.244.1.5': { forCluster: true, forLocal: true },
      '10.244.2.9': { forCluster: false, forLocal: false },
    }],
    ['a ready endpoint elsewhere: terminating ones drain only locally', [makeSlice('svc1', 's1', [
      ep('10.244.1.5', { node: 'node-a', ready: false, serving: true, terminating: true }),
      ep('10.244.2.9', { node: 'node-b' }),
    ])], {
      '10.244.1.5': { forCluster: false, forLocal: true },
      '10.244.2.9': { forCluster: true, forLocal: true },
    }],
    ['local fallback is per node: a ready local endpoint shadows a terminating one', [makeSlice('svc1', 's1', [
      ep('10.244.1.5', { node: 'node-a', ready: false, serving: true, terminating: true }),
      ep('10.244.1.6', { node: 'node-a' }),
    ])], {
      '10.244.1.5': { forCluster: false, forLocal: false },
      '10.244.1.6': { forCluster: true, forLocal: true },
    }],
    ['an endpoint without a node never carries local traffic', [makeSlice('svc1', 's1', [ep('192.0.2.50')])], {
      '192.0.2.50': { forCluster: true, forLocal: false },
    }],
    ['topology hints on every ready endpoint are used', [makeSlice('svc1', 's1', [
      ep('10.244.1.5', { node: 'node-a', zone: 'zone-1', zoneHints: ['zone-1'] }),
      ep('10.244.2.9', { node: 'node-b', zone: 'zone-2', zoneHints: ['zone-2', 'zone-3'] }),
      ep('10.244.3.3', { node: 'node-c', ready: false, serving: true, terminating: true }),
    ])], {
      '10.244.1.5': { forCluster: true, forLocal: true, forZones: ['zone-1'] },
      '10.244.2.9': { forCluster: true, forLocal: true, forZones: ['zone-2', 'zone-3'] },
      '10.244.3.3': { forCluster: false, forLocal: true },
    }],
    ['one ready endpoint without a hint: hints ignored for the whole Service (safeguard)', [makeSlice('svc1', 's1', [
      ep('10.244.1.5', { node: 'node-a', zoneHints: ['zone-1'] }),
      ep('10.244.2.9', { node: 'node-b' }),
    ])], {
      '10.244.1.5': { forCluster: true, forLocal: true },
      '10.244.2.9': { forCluster: true, forLocal: true },
    }],
    ['a not-ready endpoint without a hint does not disable hints', [makeSlice('svc1', 's1', [
      ep('10.244.1.5', { node: 'node-a', zoneHints: ['zone-1'] }),
      ep('10.244.2.9', { node: 'node-b', ready: false, serving: false }),
    ])], {
      '10.244.1.5': { forCluster: true, forLocal: true, forZones: ['zone-1'] },
      '10.244.2.9': { forCluster: false, forLocal: false },
    }],
    ['node hints (PreferSameNode) on every ready endpoint are used, with the zone hints', [makeSlice('svc1', 's1', [
      ep('10.244.1.5', { node: 'node-a', zoneHints: ['zone-1'], nodeHints: ['node-a'] }),
      ep('10.244.2.9', { node: 'node-b', zoneHints: ['zone-1'], nodeHints: ['node-b', 'node-a'] }),
      ep('10.244.3.3', { node: 'node-c', ready: false, serving: true, terminating: true }),
    ])], {
      '10.244.1.5': { forCluster: true, forLocal: true, forZones: ['zone-1'], forNodes: ['node-a'] },
      '10.244.2.9': { forCluster: true, forLocal: true, forZones: ['zone-1'], forNodes: ['node-a', 'node-b'] },
      '10.244.3.3': { forCluster: false, forLocal: true },
    }],
    ['one ready endpoint without a node hint: node hints ignored, zone hints kept (separate safeguards)', [makeSlice('svc1', 's1', [
      ep('10.244.1.5', { node: 'node-a', zoneHints: ['zone-1'], nodeHints: ['node-a'] }),
      ep('10.244.2.9', { node: 'node-b', zoneHints: ['zone-2'] }),
    ])], {
      '10.244.1.5': { forCluster: true, forLocal: true, forZones: ['zone-1'] },
      '10.244.2.9': { forCluster: true, forLocal: true, forZones: ['zone-2'] },
    }],
    ['node hints on every ready endpoint but a zone hint missing: node hints kept, zone hints ignored', [makeSlice('svc1', 's1', [
      ep('10.244.1.5', { node: 'node-a', zoneHints: ['zone-1'], nodeHints: ['node-a'] }),
      ep('10.244.2.9', { node: 'node-b', nodeHints: ['node-b'] }),
    ])], {
      '10.244.1.5': { forCluster: true, forLocal: true, forNodes: ['node-a'] },
      '10.244.2.9': { forCluster: true, forLocal: true, forNodes: ['node-b'] },
    }],
    ['a terminating endpoint keeps no node hint, and does not count for the safeguard', [makeSlice('svc1', 's1', [
      ep('10.244.1.5', { node: 'node-a', nodeHints: ['node-a'] }),
      ep('10.244.1.6', { node: 'node-a', ready: false, serving: true, terminating: true, nodeHints: ['node-a'] }),
      ep('10.244.2.9', { node: 'node-b', ready: false, serving: true, terminating: true }),
    ])], {
      '10.244.1.5': { forCluster: true, forLocal: true, forNodes: ['node-a'] },
      '10.244.1.6': { forCluster: false, forLocal: false },
      '10.244.2.9': { forCluster: false, forLocal: true },
    }],
    ['an FQDN slice is ignored', [makeSlice('svc1', 's1', [ep('db.example.org')], (s) => { s.addressType = 'FQDN'; })], {
      'db.example.org': undefined,
    }],
    ['an address of the wrong family in a slice is ignored', [makeSlice('svc1', 's1', [ep('fd00:10:244::5'), ep('10.244.1.5')])], {
      'fd00:10:244::5': undefined,
      '10.244.1.5': { forCluster: true, forLocal: false },
    }],
  ])('%s', (_name, slices, expected) => {
    const endpoints = planned(slices);
    for (const [address, want] of Object.entries(expected)) expect(flags(endpoints.get(address)), address).toEqual(want);
  });

  it.each<[string, ((s: V1Service) => void) | undefined, boolean]>([
    ['trafficDistribution PreferClose', (s) => { s.spec!.trafficDistribution = 'PreferClose'; }, true],
    ['trafficDistribution PreferSameZone', (s) => { s.spec!.trafficDistribution = 'PreferSameZone'; }, true],
    ['trafficDistribution PreferSameNode', (s) => { s.spec!.trafficDistribution = 'PreferSameNode'; }, true],
    ['annotation topology-mode Auto', (s) => { s.metadata!.annotations = { 'service.kubernetes.io/topology-mode': 'Auto' }; }, true],
    ['deprecated annotation topology-aware-hints auto', (s) => { s.metadata!.annotations = { 'service.kubernetes.io/topology-aware-hints': 'auto' }; }, true],
    ['annotation topology-mode Disabled', (s) => { s.metadata!.annotations = { 'service.kubernetes.io/topology-mode': 'Disabled' }; }, false],
    ['nothing asked: stale hints on the slices are ignored', undefined, false],
  ])('topology hints are used only when the Service asks: %s', (_name, mutate, used) => {
    const slice = makeSlice('svc1', 's1', [ep('10.244.1.5', { node: 'node-a', zoneHints: ['zone-1'], nodeHints: ['node-a'] })]);
    const result = planService({ service: makeService('ns1', 'svc1', mutate), slices: [slice] }, makeConfig());
    const endpoint = result.kind === 'plan' ? result.parts[0]?.endpoints?.[0] : undefined;
    expect(endpoint?.forZones).toEqual(used ? ['zone-1'] : undefined);
    expect(endpoint?.forNodes).toEqual(used ? ['node-a'] : undefined);
  });

  it.each([
    ['nothing said: ready, serving, not terminating', {}, { ready: true, serving: true, terminating: false }],
    ['ready=false only: serving follows ready', { ready: false }, { ready: false, serving: false, terminating: false }],
    ['terminating and serving', { ready: false, serving: true, terminating: true }, { ready: false, serving: true, terminating: true }],
  ])('conditions: %s', (_name, conditions, expected) => {
    const endpoint = planned([makeSlice('svc1', 's1', [ep('10.244.1.5', conditions)])]).get('10.244.1.5');
    expect(endpoint).toMatchObject(expected);
  });

  it('maps target ports by Service port name and protocol', () => {
    const slice = makeSlice('svc1', 's1', [ep('10.244.1.5')], (s) => {
      s.ports = [{ name: 'http', protocol: 'TCP', port: 8080 }, { name: 'dns', protocol: 'UDP', port: 5353 }, { name: 'dns', protocol: 'TCP', port: 5454 }, { name: 'metrics', protocol: 'TCP', port: 9090 }];
    });
    const endpoint = planned([slice], (s) => {
      s.spec!.ports = [{ name: 'http', protocol: 'TCP', port: 80 }, { name: 'dns', protocol: 'UDP', port: 53 }];
    }).get('10.244.1.5');
    expect(endpoint?.ports).toEqual([{ name: 'http', port: 8080 }, { name: 'dns', port: 5353 }]); // the Service's port order
  });

  it('drops endpoints that serve none of the Service ports', () => {
    const slice = makeSlice('svc1', 's1', [ep('10.244.1.5')], (s) => { s.ports = [{ name: 'other', protocol: 'TCP', port: 1 }]; });
    expect(planned([slice]).size).toBe(0);
  });

  it('dual-stack: endpoints of both families, each from its own slice', () => {
    const v4 = makeSlice('svc1', 'svc1-v4', [ep('10.244.1.5', { node: 'node-a' })]);
    const v6 = makeSlice('svc1', 'svc1-v6', [ep('FD00:10:244:1::5', { node: 'node-a' })], (s) => { s.addressType = 'IPv6'; });
    const endpoints = planned([v6, v4], (s) => {
      s.spec!.ipFamilies = ['IPv4', 'IPv6'];
      s.spec!.clusterIPs = ['10.96.0.10', 'fd00:10:96::a'];
    });
    expect([...endpoints.keys()].sort()).toEqual(['10.244.1.5', 'fd00:10:244:1::5']);
  });

  it('single-stack: the other family\'s slice is ignored', () => {
    const v6 = makeSlice('svc1', 'svc1-v6', [ep('fd00:10:244:1::5')], (s) => { s.addressType = 'IPv6'; });
    expect(planned([v6]).size).toBe(0);
  });

  it('an address in two slices appears once, with the healthier copy and merged ports', () => {
    const old = makeSlice('svc1', 'a-old', [ep('10.244.1.5', { ready: false, serving: true, terminating: true })]);
    const fresh = makeSlice('svc1', 'b-new', [ep('10.244.1.5', { ready: true })], (s) => {
      s.ports = [{ name: 'http', protocol: 'TCP', port: 8080 }, { name: 'admin', protocol: 'TCP', port: 9000 }];
    });
    const result = planService({
      service: makeService('ns1', 'svc1', (s) => { s.spec!.ports!.push({ name: 'admin', protocol: 'TCP', port: 900 }); }),
      slices: [old, fresh],
    }, makeConfig());
    if (result.kind !== 'plan') throw new Error('expected a plan');
    const all = result.parts.flatMap((p) => p.endpoints ?? []);
    expect(all).toHaveLength(1);
    expect(all[0]).toMatchObject({ ready: true, ports: [{ name: 'http', port: 8080 }, { name: 'admin', port: 9000 }] });
  });

  it.each([
    ['2026-11-22T10:00:00Z', '2026-11-22T10:00:00Z'],
    ['2026-11-22T10:00:00.123456789+01:00', '2026-11-22T10:00:00.123456789+01:00'],
    ['2026-11-22t10:00:00z', '2026-11-22t10:00:00z'], // RFC 3339 allows lowercase; so does the CRD's format
    ['2026-11-22', undefined], // Date.parse accepts it; the CRD's date-time format does not
    ['yesterday', undefined],
  ])('copies the trigger time %j of the slice into its part when it is RFC 3339', (annotation, expected) => {
    const slice = makeSlice('svc1', 's1', [ep('10.244.1.5')], (s) => {
      s.metadata!.annotations = { 'endpoints.kubernetes.io/last-change-trigger-time': annotation };
    });
    const result = planService({ service: makeService('ns1', 'svc1'), slices: [slice] }, makeConfig());
    expect(result.kind === 'plan' && result.parts[0]?.triggerTime).toBe(expected);
  });

  it('gives the same plan whatever the order of slices and endpoints', () => {
    const slices = [
      makeSlice('svc1', 's2', [ep('10.244.2.9', { node: 'node-b' }), ep('10.244.2.8', { node: 'node-b', ready: false })]),
      makeSlice('svc1', 's1', [ep('10.244.1.5', { node: 'node-a' }), ep('10.244.1.4', { node: 'node-a' })]),
    ];
    const forward = planService({ service: makeService('ns1', 'svc1'), slices }, makeConfig());
    const reversed = planService({
      service: makeService('ns1', 'svc1'),
      slices: [...slices].reverse().map((s) => ({ ...s, endpoints: [...s.endpoints].reverse() })),
    }, makeConfig());
    expect(JSON.stringify(reversed)).toBe(JSON.stringify(forward));
  });

  it('a slice memo changes no result, also when the Service ports change under a cached slice', () => {
    const memo = createSliceMemo();
    const slices = [
      makeSlice('svc1', 's1', [ep('10.244.1.5', { node: 'node-a' }), ep('bogus')], (s) => {
        s.ports = [{ name: 'http', protocol: 'TCP', port: 8080 }, { name: 'admin', protocol: 'TCP', port: 9000 }];
      }),
      makeSlice('svc1', 's2', [ep('10.244.1.5', { node: 'node-a', ready: false })]),
    ];
    const services = [
      makeService('ns1', 'svc1'),
      makeService('ns1', 'svc1', (s) => { s.spec!.ports!.push({ name: 'admin', protocol: 'TCP', port: 900 }); }),
      makeService('ns1', 'svc1'),
    ];
    for (const service of services) {
      const withMemo = planService({ service, slices, sliceMemo: memo }, makeConfig());
      const again = planService({ service, slices, sliceMemo: memo }, makeConfig());
      const without = planService({ service, slices }, makeConfig());
      expect(JSON.stringify(withMemo)).toBe(JSON.stringify(without));
      expect(JSON.stringify(again)).toBe(JSON.stringify(without));
    }
  });
});
