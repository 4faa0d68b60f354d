// Who may expose what (DESIGN.md §8): grants decide which namespace may claim which
// addresses and ports; some addresses and ports are never claimable whatever a grant says.
// Addresses: see test-builders.ts; 192.0.2.200 plays "an outside host".
import type { V1Namespace, V1Node, V1Service } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import type { NatExposureGrant, NatExposurePolicy } from '@natplan/api';
import type { PlannerSettings } from './config.js';
import { apiServerEndpointsOf } from './claimable.js';
import { resolveExposures, type ExposureInput, type ExposureResolution } from './resolve-exposures.js';
import { grantEverything, makeConfig, makeGrant, makeNode, makePolicy, makeService } from './test-builders.js';

const web = makeService('default', 'web');
const dns = makeService('kube-system', 'kube-dns', (s) => {
  s.spec!.clusterIP = '10.96.0.53';
  s.spec!.clusterIPs = ['10.96.0.53'];
  s.spec!.ports = [{ name: 'dns', protocol: 'UDP', port: 53 }];
});
const nodes: V1Node[] = [makeNode('node-a', 2, (n) => { n.metadata!.annotations = { 'natplan.io/public-address': '198.51.100.2', other: '198.51.100.3' }; }), makeNode('node-b', 3)];
const namespaces: V1Namespace[] = [
  { metadata: { name: 'default', labels: { 'natplan.io/expose': 'web' } } },
  { metadata: { name: 'evil', labels: {} } },
];

function resolve(policy: NatExposurePolicy, grants: NatExposureGrant[], extra: Partial<ExposureInput> = {}, settings: Partial<PlannerSettings> = {}): ExposureResolution {
  return resolveExposures({ policies: [policy], grants, namespaces, services: [web, dns], nodes, ...extra }, makeConfig({ serviceCIDRs: ['10.96.0.0/16'], ...settings }));
}
const status = (r: ExposureResolution, policy: NatExposurePolicy) => r.policyStatus.get(`${policy.metadata?.namespace}/${policy.metadata?.name}`);
const conditionOf = (r: ExposureResolution, policy: NatExposurePolicy, type: string) => status(r, policy)?.conditions.find((c) => c.type === type);
const exposed = (r: ExposureResolution) => [...r.byNode].flatMap(([node, list]) => list.map((e) => `${node} ${e.address}:${e.port}/${e.protocol}`));

const policy = (mutate?: (p: NatExposurePolicy) => void) => makePolicy('default', 'p1', '2026-01-01T00:00:00Z', mutate);
const onIPs = (...ips: string[]) => (p: NatExposurePolicy) => { p.spec.addresses = { ips }; };

describe('grants: a policy claims only what a grant allows its namespace', () => {
  type Row = [name: string, grants: NatExposureGrant[], mutate: ((p: NatExposurePolicy) => void) | undefined, expected: string[] | { notGranted: string }];
  const rows: Row[] = [
    ['no grant at all: nothing is exposed', [], undefined, { notGranted: 'node InternalIP 8080/TCP' }],
    ['the default grant: InternalIP, TCP 8080, namespace default', [makeGrant('g')], undefined, ['node-a 172.18.0.2:8080/TCP', 'node-b 172.18.0.3:8080/TCP']],
    ['a grant for another namespace', [makeGrant('g', (g) => { g.spec.namespaces = { names: ['other'] }; })], undefined, { notGranted: 'node InternalIP 8080/TCP' }],
    ['a grant selecting the namespace by label', [makeGrant('g', (g) => { g.spec.namespaces = { selector: { matchLabels: { 'natplan.io/expose': 'web' } } }; })], undefined, ['node-a 172.18.0.2:8080/TCP', 'node-b 172.18.0.3:8080/TCP']],
    ['a label selector the namespace does not match', [makeGrant('g', (g) => { g.spec.namespaces = { selector: { matchLabels: { 'natplan.io/expose': 'games' } } }; })], undefined, { notGranted: 'node InternalIP 8080/TCP' }],
    ['the address granted, not the port', [makeGrant('g', (g) => { g.spec.ports = [{ protocol: 'TCP', from: 9000, to: 9100 }]; })], undefined, { notGranted: 'node InternalIP 8080/TCP' }],
    ['the port granted for another protocol', [makeGrant('g', (g) => { g.spec.ports = [{ protocol: 'UDP', from: 8080 }]; })], undefined, { notGranted: 'node InternalIP 8080/TCP' }],
    ['a port range holding the port', [makeGrant('g', (g) => { g.spec.ports = [{ protocol: 'TCP', from: 8000, to: 8100 }]; })], undefined, ['node-a 172.18.0.2:8080/TCP', 'node-b 172.18.0.3:8080/TCP']],
    ['ExternalIP granted, InternalIP claimed', [makeGrant('g', (g) => { g.spec.addresses = { fromNode: ['ExternalIP'] }; })], undefined, { notGranted: 'node InternalIP 8080/TCP' }],
    ['address from one grant, port from another: not enough', [
      makeGrant('address', (g) => { g.spec.ports = [{ protocol: 'TCP', from: 1 }]; }),
      makeGrant('port', (g) => { g.spec.addresses = { cidrs: ['198.51.100.0/24'] }; }),
    ], undefined, { notGranted: 'node InternalIP 8080/TCP' }],
    ['explicit IPs inside the granted CIDRs and single IPs', [makeGrant('g', (g) => { g.spec.addresses = { cidrs: ['198.51.100.0/28', '2001:db8::50', '198.51.100.99'] }; })],
      onIPs('198.51.100.5', '198.51.100.99'), ['node-a 198.51.100.5:8080/TCP', 'node-a 198.51.100.99:8080/TCP', 'node-b 198.51.100.5:8080/TCP', 'node-b 198.51.100.99:8080/TCP']],
    ['one explicit IP outside the granted CIDRs refuses the whole policy', [makeGrant('g', (g) => { g.spec.addresses = { cidrs: ['198.51.100.0/28'] }; })],
      onIPs('198.51.100.5', '198.51.100.200'), { notGranted: '198.51.100.200 8080/TCP' }],
    ['a granted node annotation', [makeGrant('g', (g) => { g.spec.addresses = { annotations: ['natplan.io/public-address'] }; })],
      (p) => { p.spec.addresses = { fromNode: 'Annotation', annotation: 'natplan.io/public-address' }; }, ['node-a 172.18.0.2:8080/TCP']],
    ['another node annotation than the granted one', [makeGrant('g', (g) => { g.spec.addresses = { annotations: ['natplan.io/public-address'] }; })],
      (p) => { p.spec.addresses = { fromNode: 'Annotation', annotation: 'other' }; }, { notGranted: 'node annotation other 8080/TCP' }],
    ['granted node addresses do not grant explicit IPs', [makeGrant('g', (g) => { g.spec.addresses = { fromNode: ['InternalIP', 'ExternalIP'] }; })],
      onIPs('172.18.0.2'), { notGranted: '172.18.0.2 8080/TCP' }],
  ];
  it.each(rows)('%s', (_name, grants, mutate, expected) => {
    const p = policy(mutate);
    const r = resolve(p, grants);
    if (Array.isArray(expected)) {
      expect(exposed(r)).toEqual(expected);
      expect(conditionOf(r, p, 'Accepted')).toMatchObject({ status: 'True' });
    } else {
      expect(exposed(r)).toEqual([]);
      expect(r.exposedServices.size).toBe(0);
      expect(conditionOf(r, p, 'Accepted')).toMatchObject({ status: 'False', reason: 'NotGranted' });
      expect(conditionOf(r, p, 'Accepted')?.message).toContain(`no NatExposureGrant allows namespace default to claim ${expected.notGranted}`);
      expect(conditionOf(r, p, 'Programmed')).toMatchObject({ status: 'False', reason: 'NotAccepted' });
    }
  });

  it('finding 1: a namespace without a grant cannot claim an outside host, however it asks', () => {
    const evilWeb = makeService('evil', 'web', (s) => { s.spec!.ports = [{ name: 'dns', protocol: 'UDP', port: 53 }, { name: 'http', protocol: 'TCP', port: 80 }]; });
    const hijack = makePolicy('evil', 'hijack', '2026-01-01T00:00:00Z', (p) => {
      p.spec.addresses = { ips: ['192.0.2.200'] };
      p.spec.ports = [{ servicePort: 53, externalPort: 9953, protocol: 'UDP' }, { servicePort: 80, externalPort: 9980, protocol: 'TCP' }];
    });
    // A grant for someone else does not help, nor does a grant of the port alone.
    const grants = [makeGrant('web-team'), makeGrant('ports', (g) => { g.spec.namespaces = { names: ['evil'] }; g.spec.ports = [{ protocol: 'UDP', from: 9953 }, { protocol: 'TCP', from: 9980 }]; })];
    const r = resolveExposures({ policies: [hijack], grants, namespaces, services: [evilWeb], nodes }, makeConfig());
    expect(r.byNode.size).toBe(0);
    expect(conditionOf(r, hijack, 'Accepted')).toMatchObject({ status: 'False', reason: 'NotGranted' });
    expect(conditionOf(r, hijack, 'Accepted')?.message).toContain('192.0.2.200 9953/UDP, 192.0.2.200 9980/TCP');
  });
});

describe('never claimable, whatever a grant says', () => {
  type Row = [name: string, mutate: (p: NatExposurePolicy) => void, reason: string, says: string, settings?: Partial<PlannerSettings>];
  const port = (externalPort: number) => (p: NatExposurePolicy) => { p.spec.ports = [{ servicePort: 80, externalPort, protocol: 'TCP' }]; };
  const rows: Row[] = [
    ['SSH', port(22), 'ReservedPort', '22/TCP'],
    ['the kubelet', port(10250), 'ReservedPort', '10250/TCP'],
    ['kube-proxy-compatible healthz', port(10256), 'ReservedPort', '10256/TCP'],
    ['the agent\'s metrics and health port', port(10261), 'ReservedPort', '10261/TCP'],
    ['the operator\'s metrics and health port', port(9090), 'ReservedPort', '9090/TCP'],
    ['a port from the operator\'s reserved-ports flag', port(8080), 'ReservedPort', '8080/TCP', { reservedPorts: [8080] }],
    ['the first port of the node-port range', port(30000), 'NodePortRange', '30000/TCP are in the node-port range 30000-32767'],
    ['the last port of the node-port range', port(32767), 'NodePortRange', '32767/TCP'],
    ['a port in a configured node-port range', port(20500), 'NodePortRange', 'node-port range 20000-22767', { nodePortRange: '20000-22767' }],
    ['an unallocated address in the Service CIDR', onIPs('10.96.1.1'), 'ServiceCIDR', '10.96.1.1 is in the Service CIDRs'],
    ['loopback', onIPs('127.0.0.1'), 'SpecialAddress', '127.0.0.1'],
    ['the unspecified address', onIPs('0.0.0.0'), 'SpecialAddress', '0.0.0.0'],
    ['IPv6 link-local', onIPs('fe80::1'), 'SpecialAddress', 'fe80::1'],
    ['multicast', onIPs('224.0.0.251'), 'SpecialAddress', '224.0.0.251'],
  ];
  it.each(rows)('%s is refused', (_name, mutate, reason, says, settings = {}) => {
    const p = policy(mutate);
    const r = resolve(p, [grantEverything()], {}, settings);
    expect(r.byNode.size).toBe(0);
    expect(conditionOf(r, p, 'Accepted')).toMatchObject({ status: 'False', reason });
    expect(conditionOf(r, p, 'Accepted')?.message).toContain(says);
  });

  it('the ports just outside the node-port range are claimable', () => {
    for (const externalPort of [29999, 32768]) {
      const p = policy((x) => { x.spec.ports = [{ servicePort: 80, externalPort, protocol: 'TCP' }]; });
      expect(conditionOf(resolve(p, [grantEverything()]), p, 'Accepted')?.status, String(externalPort)).toBe('True');
    }
  });

  // Finding 5: a claim on another Service's cluster IP used to be Accepted, Programmed and
  // silently dropped by the agent.
  it.each([
    ['with a grant covering the address', [grantEverything()]],
    ['without any grant', []],
  ])('a claim on a cluster IP is a Conflict naming the Service that owns it, %s', (_name, grants) => {
    const p = makePolicy('default', 'steal-dns', '2026-01-01T00:00:00Z', (x) => {
      x.spec.addresses = { ips: ['10.96.0.53'] };
      x.spec.ports = [{ servicePort: 80, externalPort: 53, protocol: 'UDP' }];
    });
    const udpWeb = makeService('default', 'web', (s) => { s.spec!.ports = [{ name: 'http', protocol: 'UDP', port: 80 }]; });
    const r = resolveExposures({ policies: [p], grants, namespaces, services: [udpWeb, dns], nodes }, makeConfig({ serviceCIDRs: ['10.96.0.0/16'] }));
    expect(r.byNode.size).toBe(0);
    expect(conditionOf(r, p, 'Conflict')).toMatchObject({ status: 'True', reason: 'ClusterIPInUse' });
    expect(conditionOf(r, p, 'Conflict')?.message).toBe('10.96.0.53:53/UDP: 10.96.0.53 is the cluster IP of Service kube-system/kube-dns; cluster IPs are never claimable');
    expect(conditionOf(r, p, 'Programmed')).toMatchObject({ status: 'False', reason: 'NoExposureAssigned' });
    expect(conditionOf(r, p, 'Accepted')?.message).toBe('0 of 2 exposures assigned to nodes');
  });

  it('a cluster IP next to a granted address: the rest is exposed, the cluster IP is the conflict', () => {
    const p = policy(onIPs('10.96.0.53', '198.51.100.5'));
    const r = resolve(p, [makeGrant('g', (g) => { g.spec.addresses = { cidrs: ['198.51.100.0/24'] }; })]);
    expect(exposed(r)).toEqual(['node-a 198.51.100.5:8080/TCP', 'node-b 198.51.100.5:8080/TCP']);
    expect(conditionOf(r, p, 'Accepted')).toMatchObject({ status: 'True' });
    expect(conditionOf(r, p, 'Conflict')).toMatchObject({ status: 'True', reason: 'ClusterIPInUse' });
  });

  it.each<[string, Partial<ExposureInput>, Partial<PlannerSettings>]>([
    ['from the operator flag', {}, { apiServerEndpoints: ['172.18.0.2:8080'] }],
    ['from the kubernetes Service endpoints', { apiServerEndpoints: [{ address: '172.18.0.2', port: 8080 }] }, {}],
  ])('the API server\'s address and port lose to the API server (%s)', (_name, extra, settings) => {
    const p = policy();
    const r = resolve(p, [grantEverything()], extra, settings);
    expect(exposed(r)).toEqual(['node-b 172.18.0.3:8080/TCP']);
    expect(conditionOf(r, p, 'Conflict')).toMatchObject({ status: 'True', reason: 'AddressPortInUse' });
    expect(conditionOf(r, p, 'Conflict')?.message).toContain('172.18.0.2:8080/TCP on node node-a is held by the API server (172.18.0.2:8080)');
  });
});

describe('the API server\'s endpoints', () => {
  it('are read from the slices of default/kubernetes, every address with every TCP port', () => {
    const slices = [
      { addressType: 'IPv4', metadata: { name: 'kubernetes' }, ports: [{ name: 'https', protocol: 'TCP', port: 6443 }], endpoints: [{ addresses: ['172.18.0.2'] }, { addresses: ['172.18.0.3'], conditions: { ready: false } }] },
      { addressType: 'IPv6', metadata: { name: 'kubernetes-v6' }, ports: [{ name: 'https', port: 443 }], endpoints: [{ addresses: ['FD00:172:18::2'] }] },
    ];
    expect(apiServerEndpointsOf(slices)).toEqual([
      { address: '172.18.0.2', port: 6443 }, { address: '172.18.0.3', port: 6443 }, { address: 'fd00:172:18::2', port: 443 },
    ]);
  });
});

describe('grants never depend on input order', () => {
  it('namespaces and grants in any order give the same result', () => {
    const grants = [makeGrant('b', (g) => { g.spec.namespaces = { selector: { matchLabels: { 'natplan.io/expose': 'web' } } }; }), makeGrant('a', (g) => { g.spec.namespaces = { names: ['nobody'] }; })];
    const p = policy();
    const services: V1Service[] = [web];
    const one = resolveExposures({ policies: [p], grants, namespaces, services, nodes }, makeConfig());
    const two = resolveExposures({ policies: [p], grants: [...grants].reverse(), namespaces: [...namespaces].reverse(), services, nodes }, makeConfig());
    expect(JSON.stringify([...two.byNode])).toBe(JSON.stringify([...one.byNode]));
    expect(exposed(one)).toHaveLength(2);
  });
});
