/**
 * fast-check generators of renderer inputs: random but valid-looking plans over the test
 * address ranges (see builders.ts), plus hostile names for the structure property.
 */
import fc from 'fast-check';
import type { NodeNatPlanExposure, NodeNatPlanLocalTraffic, ServiceNatPlanEndpoint, ServiceNatPlanSpec } from '@natplan/api';
import type { RenderInput } from '../plan.js';
import { makeNodePlan, THIS_NODE } from './builders.js';

const octet = fc.integer({ min: 0, max: 255 });
const v4 = (prefix: string) => octet.map((o) => `${prefix}.${o}`);
const v6 = (prefix: string) => fc.integer({ min: 1, max: 0xffff }).map((n) => `${prefix}${n.toString(16)}`);
const protocol = fc.constantFrom('TCP' as const, 'UDP' as const, 'SCTP' as const);
const port = fc.integer({ min: 1, max: 65535 });
const portNames = ['http', 'dns', ''];

const endpoint: fc.Arbitrary<ServiceNatPlanEndpoint> = fc.record({
  address: fc.oneof(v4('10.244.1'), v4('10.244.2'), v6('fd00:10:244:1::'), v6('fd00:10:244:2::')),
  nodeName: fc.constantFrom(THIS_NODE, 'node-b'),
  forCluster: fc.boolean(),
  forLocal: fc.boolean(),
  forZones: fc.option(fc.subarray(['zone-1', 'zone-2']), { nil: undefined }),
  forNodes: fc.option(fc.subarray([THIS_NODE, 'node-b']), { nil: undefined }),
  ports: fc.subarray(portNames).chain((names) => fc.tuple(...names.map((name) => port.map((p) => ({ name, port: p }))))),
}).map(({ forZones, forNodes, ...e }) => ({ ...e, ...(forZones ? { forZones } : {}), ...(forNodes ? { forNodes } : {}) }));

export const serviceSpec = (name: string): fc.Arbitrary<ServiceNatPlanSpec> => fc.record({
  clusterIPs: fc.oneof(fc.tuple(v4('10.96.0')), fc.tuple(v4('10.96.1'), v6('fd00:10:96::'))),
  externalIPs: fc.array(v4('192.0.2'), { maxLength: 2 }),
  loadBalancerIPs: fc.array(fc.oneof(v4('198.51.100'), v6('2001:db8::')), { maxLength: 2 }),
  ports: fc.uniqueArray(fc.record({ name: fc.constantFrom(...portNames), protocol, port, nodePort: fc.option(fc.integer({ min: 30000, max: 32767 }), { nil: undefined }) }),
    { minLength: 1, maxLength: 3, selector: (p) => `${p.protocol}/${p.port}` }),
  affinity: fc.option(fc.integer({ min: 1, max: 86400 }), { nil: undefined }),
  externalTrafficPolicy: fc.constantFrom('Cluster' as const, 'Local' as const),
  internalTrafficPolicy: fc.constantFrom('Cluster' as const, 'Local' as const),
  loadBalancerSourceRanges: fc.array(fc.constantFrom('203.0.113.0/24', '203.0.113.128/25', '2001:db8:1::/48', '198.51.100.0/24'), { maxLength: 3 }),
  endpoints: fc.array(endpoint, { maxLength: 5 }),
}).map(({ affinity, ports, ...s }) => ({
  service: { name }, part: 0, ...s,
  ports: ports.map((p) => (p.nodePort === undefined ? { name: p.name, protocol: p.protocol, port: p.port } : p)),
  ...(affinity ? { sessionAffinity: { type: 'ClientIP' as const, timeoutSeconds: affinity } } : {}),
}));

const exposure = (services: string[]): fc.Arbitrary<NodeNatPlanExposure> => fc.record({
  policy: fc.constant({ namespace: 'ns1', name: 'p' }),
  service: fc.constantFrom(...services, 'missing'),
  servicePort: port,
  address: fc.oneof(fc.constant('172.18.0.2'), v4('198.51.100'), v6('2001:db8::')),
  port,
  protocol,
  sourceRanges: fc.array(fc.constantFrom('203.0.113.0/24', '2001:db8:2::/48'), { maxLength: 2 }),
  sourceNAT: fc.constantFrom('Masquerade' as const, 'PreserveClientAddress' as const),
});

/** A node with up to `maxServices` Services (names svc0..n) in namespace ns1, and exposures. */
export const renderInput = (maxServices = 6): fc.Arbitrary<RenderInput> =>
  fc.integer({ min: 0, max: maxServices }).chain((n) => {
    const names = Array.from({ length: n }, (_, i) => `svc${i}`);
    return fc.record({
      specs: fc.tuple(...names.map((name) => serviceSpec(name))),
      exposures: fc.uniqueArray(exposure(names), { maxLength: 3, selector: (x) => `${x.address}/${x.port}/${x.protocol}` }),
      masqueradeAll: fc.boolean(),
      allLocalNodePorts: fc.boolean(),
      serviceCIDRs: fc.boolean(),
      localTraffic: fc.constantFrom<NodeNatPlanLocalTraffic | undefined>(
        undefined,
        { mode: 'ClusterCIDR', cidrs: ['10.244.0.0/16', 'fd00:10:244::/56'] },
        { mode: 'NodeCIDR', cidrs: ['10.244.1.0/24'] },
        { mode: 'ClusterCIDR' },
        { mode: 'BridgeInterface', interfaceName: 'cni0' },
        { mode: 'InterfaceNamePrefix', interfaceNamePrefix: 'veth' },
      ),
    });
  }).map(({ specs, exposures, masqueradeAll, allLocalNodePorts, serviceCIDRs, localTraffic }) => ({
    ...(serviceCIDRs ? { options: { serviceCIDRs: ['10.96.0.0/16', 'fd00:10:96::/108'] } } : {}),
    node: makeNodePlan((node) => {
      node.exposures = exposures;
      node.masqueradeAll = masqueradeAll;
      if (allLocalNodePorts) node.nodePortAddresses = [];
      if (localTraffic) node.localTraffic = localTraffic;
      else delete node.localTraffic; // a plan from an older operator
    }),
    services: specs.map((spec) => ({ namespace: 'ns1', name: spec.service.name, spec })),
    identity: { nodeName: THIS_NODE, zone: 'zone-1' },
  }));
