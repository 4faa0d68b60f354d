// The CRD examples are the planner's output for the situation they describe: if the
// planner and the examples drift apart, one of them is wrong.
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import edgeWebGrantYaml from '../../../crds/examples/natexposuregrant-edge-web.yaml?raw';
import gamesGrantYaml from '../../../crds/examples/natexposuregrant-games.yaml?raw';
import gamesUdpYaml from '../../../crds/examples/natexposurepolicy-games-udp.yaml?raw';
import webPublicYaml from '../../../crds/examples/natexposurepolicy-web-public.yaml?raw';
import nodeAYaml from '../../../crds/examples/nodenatplan-node-a.yaml?raw';
import localLbYaml from '../../../crds/examples/servicenatplan-local-lb.yaml?raw';
import webPart1Yaml from '../../../crds/examples/servicenatplan-web-part1.yaml?raw';
import webYaml from '../../../crds/examples/servicenatplan-web.yaml?raw';
import type { NatExposureGrant, NatExposurePolicy, NodeNatPlan, ServiceNatPlan } from '@natplan/api';
import { servicePlanName } from './naming.js';
import { resolveExposures } from './resolve-exposures.js';
import { planNode } from './plan-node.js';
import { planService } from './plan-service.js';
import { makeConfig, makeEndpoint, makeNode, makeService, makeSlice } from './test-builders.js';

const example = (text: string): ServiceNatPlan => parse(text) as ServiceNatPlan;

describe('the CRD examples are planner output', () => {
  it('servicenatplan-web.yaml and -web-part1.yaml: dual-stack LB, allow-listed external IP, ClientIP affinity, a draining IPv6 endpoint', () => {
    const service = makeService('default', 'web', (s) => {
      s.metadata!.uid = '9b2f7e0c-5d1a-4c8e-9a77-2f4c1d3e6b10';
      s.spec = {
        type: 'LoadBalancer', clusterIP: '10.96.0.10', clusterIPs: ['10.96.0.10', 'fd00:10:96::a'], ipFamilies: ['IPv4', 'IPv6'],
        ports: [{ name: 'http', protocol: 'TCP', port: 80, nodePort: 30080 }, { name: 'dns', protocol: 'UDP', port: 53, nodePort: 30053 }],
        externalIPs: ['192.0.2.10', '198.51.100.66'], sessionAffinity: 'ClientIP', loadBalancerSourceRanges: ['203.0.113.0/24'],
        externalTrafficPolicy: 'Cluster',
      };
      s.status = { loadBalancer: { ingress: [{ ip: '198.51.100.7', ipMode: 'VIP' }] } };
    });
    const ports = [{ name: 'http', protocol: 'TCP', port: 8080 }, { name: 'dns', protocol: 'UDP', port: 5353 }];
    const v4 = makeSlice('web', 'web-4xk2p', [makeEndpoint('10.244.2.9', { node: 'node-b', zone: 'zone-2' }), makeEndpoint('10.244.1.5', { node: 'node-a', zone: 'zone-1' })], (s) => {
      s.ports = ports;
      s.metadata!.annotations = { 'endpoints.kubernetes.io/last-change-trigger-time': '2026-11-22T10:00:00Z' };
    });
    const v6 = makeSlice('web', 'web-9zq7m', [makeEndpoint('fd00:10:244:1::5', { node: 'node-a', zone: 'zone-1', ready: false, serving: true, terminating: true })], (s) => {
      s.addressType = 'IPv6';
      s.ports = ports;
    });
    // The examples are a later state: the IPv6 endpoint had been placed in part 1 by an
    // earlier plan. Planning again with them as the previous parts must reproduce them.
    const previous = [example(webPart1Yaml).spec, example(webYaml).spec];
    const result = planService({ service, slices: [v6, v4], previous }, makeConfig());
    if (result.kind !== 'plan') throw new Error('expected a plan');
    expect(result.parts.map((p) => servicePlanName('web', p.part))).toEqual(['web', 'web.1']);
    expect(result.parts[0]).toEqual(example(webYaml).spec);
    expect(result.parts[1]).toEqual(example(webPart1Yaml).spec);
    expect(result.warnings.map((w) => w.reason)).toEqual(['ExternalIPNotAllowed']);
    // A first plan puts all three endpoints in part 0.
    const fresh = planService({ service, slices: [v6, v4] }, makeConfig());
    expect(fresh.kind === 'plan' && fresh.parts.map((p) => p.endpointCount)).toEqual([3]);
  });

  it('servicenatplan-local-lb.yaml: LB with externalTrafficPolicy Local and topology hints', () => {
    const service = makeService('shop', 'api', (s) => {
      s.metadata!.uid = undefined;
      s.spec = {
        type: 'LoadBalancer', clusterIP: '10.96.3.4', clusterIPs: ['10.96.3.4'], ipFamilies: ['IPv4'],
        ports: [{ protocol: 'TCP', port: 443, nodePort: 31443 }], externalTrafficPolicy: 'Local', healthCheckNodePort: 32000,
        internalTrafficPolicy: 'Cluster', sessionAffinity: 'None',
      };
      s.status = { loadBalancer: { ingress: [{ ip: '198.51.100.20' }] } };
    });
    service.metadata!.annotations = { 'service.kubernetes.io/topology-mode': 'Auto' };
    const slice = makeSlice('api', 'api-h7t2c', [makeEndpoint('10.244.1.7', { node: 'node-a', zone: 'zone-1', zoneHints: ['zone-1'] })], (s) => {
      s.ports = [{ protocol: 'TCP', port: 8443 }];
    });
    const result = planService({ service, slices: [slice] }, makeConfig());
    expect(result.kind === 'plan' && result.parts).toEqual([example(localLbYaml).spec]);
  });

  it('nodenatplan-node-a.yaml: dual-stack node holding the exposure of natexposurepolicy-web-public.yaml', () => {
    const policy = parse(webPublicYaml) as NatExposurePolicy;
    policy.metadata = { ...policy.metadata, creationTimestamp: new Date('2026-11-01T00:00:00Z') };
    const nodeA = makeNode('node-a', 2, (n) => {
      n.metadata!.labels = { ...n.metadata!.labels, 'natplan.io/edge': 'true' };
      n.metadata!.annotations = { 'natplan.io/public-address': '172.18.0.2' };
      n.spec!.podCIDRs = ['10.244.1.0/24', 'fd00:10:244:1::/64'];
      n.status!.addresses = [{ type: 'InternalIP', address: '172.18.0.2' }, { type: 'InternalIP', address: 'fd00:172:18::2' }];
    });
    const grants = [parse(edgeWebGrantYaml) as NatExposureGrant];
    const exposures = resolveExposures({ policies: [policy], grants, services: [makeService('default', 'web')], nodes: [nodeA, makeNode('node-b', 3)] }, makeConfig());
    const spec = planNode({ node: nodeA, exposures: exposures.byNode.get('node-a') ?? [] }, makeConfig());
    expect(spec).toEqual((parse(nodeAYaml) as NodeNatPlan).spec);
    expect(exposures.byNode.has('node-b')).toBe(false);
    // Without its grant the same policy exposes nothing.
    const ungranted = resolveExposures({ policies: [policy], grants: [], services: [makeService('default', 'web')], nodes: [nodeA] }, makeConfig());
    expect(ungranted.byNode.size).toBe(0);
    expect(ungranted.policyStatus.get('default/web-public')?.conditions[0]).toMatchObject({ type: 'Accepted', status: 'False', reason: 'NotGranted' });
  });

  it('natexposuregrant-games.yaml grants what natexposurepolicy-games-udp.yaml claims', () => {
    const policy = parse(gamesUdpYaml) as NatExposurePolicy;
    const arena = makeService('games', 'arena', (s) => {
      s.metadata!.labels = { app: 'game' };
      s.spec!.ports = [{ name: 'game', protocol: 'UDP', port: 7777 }];
      s.spec!.ipFamilies = ['IPv4', 'IPv6'];
      s.spec!.clusterIPs = ['10.96.0.10', 'fd00:10:96::a'];
    });
    const grants = [parse(gamesGrantYaml) as NatExposureGrant];
    const result = resolveExposures({ policies: [policy], grants, services: [arena], nodes: [makeNode('node-a', 2)] }, makeConfig());
    expect(result.byNode.get('node-a')?.map((e) => `${e.address}:${e.port}/${e.protocol}`)).toEqual(['198.51.100.50:27015/UDP', '2001:db8::50:27015/UDP']);
  });
});
