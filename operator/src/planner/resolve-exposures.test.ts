import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { V1Node, V1Service } from '@kubernetes/client-node';
import type { NatExposurePolicy, ServiceNatPlanEndpoint } from '@natplan/api';
import type { PlannerSettings } from './config.js';
import { EXPOSURE_BYTES_PER_NODE, estimateExposureBytes, resolveExposures, type ExposureInput, type ExposureResolution } from './resolve-exposures.js';
import { grantEverything, makeConfig, makeNode, makePolicy, makeService } from './test-builders.js';

const web = makeService('default', 'web');
const edge = (n: V1Node) => { n.metadata!.labels = { ...n.metadata!.labels, 'natplan.io/edge': 'true' }; };
const publicAddress = (address: string) => (n: V1Node) => { n.metadata!.annotations = { 'natplan.io/public-address': address }; };
const nodes = [makeNode('node-a', 2, edge), makeNode('node-b', 3), makeNode('node-c', 4, edge)];

// Authority is tested in authority.test.ts; here every address and port is granted.
function plan(policies: NatExposurePolicy[], services: V1Service[] = [web], nodeList: V1Node[] = nodes, extra: Partial<ExposureInput> = {}, settings: Partial<PlannerSettings> = {}): ExposureResolution {
  return resolveExposures({ policies, grants: [grantEverything()], services, nodes: nodeList, ...extra }, makeConfig(settings));
}
// A Service holding a node port outside the configured range (the range was changed
// after it was allocated): the node-port-range refusal does not hide the conflict.
const oldRange = { nodePortRange: '31000-32767' };
const listed = (p: ExposureResolution, node: string) => (p.byNode.get(node) ?? []).map((e) => `${e.address}:${e.port}/${e.protocol}->${e.service}:${e.servicePort}`);
const condition = (p: ExposureResolution, name: string, type: 'Accepted' | 'Programmed' | 'Conflict') =>
  [...p.policyStatus.values()].find((o) => o.policy.name === name)?.conditions.find((c) => c.type === type);

describe('planExposures', () => {
  it('exposes a Service on every node InternalIP by default', () => {
    const result = plan([makePolicy('default', 'p1', '2026-01-01T00:00:00Z')]);
    expect(listed(result, 'node-a')).toEqual(['172.18.0.2:8080/TCP->web:80']);
    expect(listed(result, 'node-b')).toEqual(['172.18.0.3:8080/TCP->web:80']);
    expect(condition(result, 'p1', 'Accepted')).toMatchObject({ status: 'True', reason: 'Accepted' });
    expect(condition(result, 'p1', 'Conflict')).toMatchObject({ status: 'False' });
    expect([...result.exposedServices]).toEqual(['default/web']);
  });

  // The annotation names the public address on the NAT gateway in front of the node; the
  // gateway forwards to the node's InternalIP, where the rules match.
  it('node selector, annotation addresses and source ranges (the web-public example)', () => {
    const policy = makePolicy('default', 'web-public', '2026-01-01T00:00:00Z', (p) => {
      p.spec.nodes = { selector: { matchLabels: { 'natplan.io/edge': 'true' } } };
      p.spec.addresses = { fromNode: 'Annotation', annotation: 'natplan.io/public-address' };
      p.spec.sourceRanges = ['203.0.113.7/24'];
    });
    const result = plan([policy], [web], [makeNode('node-a', 2, (n) => { edge(n); publicAddress('198.51.100.2')(n); }), makeNode('node-b', 3, publicAddress('198.51.100.3')), makeNode('node-c', 4, edge)]);
    expect(result.byNode.get('node-a')).toEqual([{
      policy: { namespace: 'default', name: 'web-public' }, service: 'web', servicePort: 80, address: '172.18.0.2', port: 8080, protocol: 'TCP',
      sourceRanges: ['203.0.113.0/24'], sourceNAT: 'Masquerade',
    }]);
    expect(result.policyStatus.get('default/web-public')?.publicEndpoints.map((e) => `${e.node} ${e.address}:${e.port}`)).toEqual(['node-a 198.51.100.2:8080']);
    expect(result.byNode.has('node-b')).toBe(false); // not selected
    expect(result.byNode.has('node-c')).toBe(false); // selected, no annotation: reported
    expect(condition(result, 'web-public', 'Accepted')?.message).toContain('node node-c has no annotation natplan.io/public-address');
  });

  it('an annotated public address of a family the node has no InternalIP of is reported, not programmed', () => {
    const policy = makePolicy('default', 'web-public', '2026-01-01T00:00:00Z', (p) => {
      p.spec.addresses = { fromNode: 'Annotation', annotation: 'natplan.io/public-address' };
    });
    const result = plan([policy], [web], [makeNode('node-a', 2, publicAddress('2001:db8::2'))]);
    expect(result.byNode.has('node-a')).toBe(false);
    expect(condition(result, 'web-public', 'Accepted')?.message).toContain('node node-a has no IPv6 InternalIP to receive traffic for 2001:db8::2');
  });

  it('explicit IPs by selector, keeping only addresses of the Service families (the games-udp example)', () => {
    const game = makeService('games', 'arena', (s) => {
      s.metadata!.labels = { app: 'game' };
      s.spec!.ports = [{ name: 'game', protocol: 'UDP', port: 7777 }];
    });
    const policy = makePolicy('games', 'games-udp', '2026-01-01T00:00:00Z', (p) => {
      p.spec.service = { selector: { matchExpressions: [{ key: 'app', operator: 'In', values: ['game'] }] } };
      p.spec.ports = [{ servicePort: 7777, externalPort: 27015, protocol: 'UDP' }];
      p.spec.addresses = { ips: ['198.51.100.50', '2001:db8::50'] };
      p.spec.sourceNAT = 'PreserveClientAddress';
    });
    const result = plan([policy], [game, web]);
    expect(listed(result, 'node-a')).toEqual(['198.51.100.50:27015/UDP->arena:7777']);
    expect(result.byNode.get('node-a')?.[0]?.sourceNAT).toBe('PreserveClientAddress');
    expect(condition(result, 'games-udp', 'Accepted')?.message).toContain('2001:db8::50 on node node-a is IPv6');
  });

  it('the oldest policy wins a conflict; the loser keeps its other claims and reports the winner', () => {
    const older = makePolicy('default', 'zz-older', '2026-01-01T00:00:00Z');
    const younger = makePolicy('default', 'aa-younger', '2026-02-01T00:00:00Z', (p) => {
      p.spec.ports = [{ servicePort: 80, externalPort: 8080, protocol: 'TCP' }, { servicePort: 80, externalPort: 8081, protocol: 'TCP' }];
    });
    for (const order of [[older, younger], [younger, older]]) {
      const result = plan(order);
      expect(result.byNode.get('node-a')?.map((e) => `${e.policy.name}:${e.port}`)).toEqual(['zz-older:8080', 'aa-younger:8081']);
      expect(condition(result, 'aa-younger', 'Conflict')).toMatchObject({ status: 'True', reason: 'AddressPortInUse' });
      expect(condition(result, 'aa-younger', 'Conflict')?.message).toContain('172.18.0.2:8080/TCP on node node-a is held by policy default/zz-older');
      expect(condition(result, 'zz-older', 'Conflict')?.status).toBe('False');
    }
  });

  it('same age: namespace/name decides', () => {
    const result = plan([makePolicy('default', 'b', '2026-01-01T00:00:00Z'), makePolicy('default', 'a', '2026-01-01T00:00:00Z')]);
    expect(result.byNode.get('node-a')?.[0]?.policy.name).toBe('a');
  });

  it('a node port always wins over a policy on the node-port addresses', () => {
    const withNodePort = makeService('other', 'np', (s) => {
      s.spec!.type = 'NodePort';
      s.spec!.ports = [{ name: 'http', protocol: 'TCP', port: 80, nodePort: 30080 }];
    });
    const policy = makePolicy('default', 'p1', '2026-01-01T00:00:00Z', (p) => { p.spec.ports = [{ servicePort: 80, externalPort: 30080, protocol: 'TCP' }]; });
    const result = plan([policy], [web, withNodePort], nodes, {}, oldRange);
    expect(result.byNode.size).toBe(0);
    expect(condition(result, 'p1', 'Conflict')?.message).toContain('node port of Service other/np');
    expect(result.policyStatus.get('default/p1')?.publicEndpointCount).toBe(0);
  });

  it.each([
    ['replace', ['198.51.100.60:30080/TCP->web:80']],
    ['complement', []], // kube-proxy may serve node ports on every local address
  ] as const)('a node port on a floating IP that is not a node-port address, %s mode', (mode, expected) => {
    const withNodePort = makeService('other', 'np', (s) => { s.spec!.ports = [{ name: 'http', protocol: 'TCP', port: 80, nodePort: 30080 }]; });
    const policy = makePolicy('default', 'p1', '2026-01-01T00:00:00Z', (p) => {
      p.spec.ports = [{ servicePort: 80, externalPort: 30080, protocol: 'TCP' }];
      p.spec.addresses = { ips: ['198.51.100.60'] };
    });
    expect(listed(plan([policy], [web, withNodePort], [makeNode('node-a', 2)], {}, { mode, ...oldRange }), 'node-a')).toEqual(expected);
  });

  it('a UDP exposure does not conflict with a TCP node port on the same number', () => {
    const withNodePort = makeService('other', 'np', (s) => { s.spec!.ports = [{ name: 'http', protocol: 'TCP', port: 80, nodePort: 30080 }]; });
    const udpWeb = makeService('default', 'web', (s) => { s.spec!.ports = [{ name: 'dns', protocol: 'UDP', port: 53 }]; });
    const policy = makePolicy('default', 'p1', '2026-01-01T00:00:00Z', (p) => { p.spec.ports = [{ servicePort: 53, externalPort: 30080, protocol: 'UDP' }]; });
    expect(listed(plan([policy], [udpWeb, withNodePort], nodes, {}, oldRange), 'node-a')).toEqual(['172.18.0.2:30080/UDP->web:53']);
  });

  it.each<[string, (p: NatExposurePolicy) => void, string]>([
    ['a missing Service', (p) => { p.spec.service = { name: 'nope' }; }, 'ServiceNotFound'],
    ['a missing port', (p) => { p.spec.ports = [{ servicePort: 81, externalPort: 8080, protocol: 'TCP' }]; }, 'PortNotFound'],
    ['a protocol the port does not have', (p) => { p.spec.ports = [{ servicePort: 80, externalPort: 8080, protocol: 'UDP' }]; }, 'PortNotFound'],
    ['a source range that is not a CIDR', (p) => { p.spec.sourceRanges = ['203.0.113.0']; }, 'InvalidSourceRange'],
    ['both name and selector', (p) => { p.spec.service = { name: 'web', selector: {} }; }, 'InvalidSpec'],
    ['an annotation source without annotation', (p) => { p.spec.addresses = { fromNode: 'Annotation' }; }, 'InvalidSpec'],
    ['no node has an ExternalIP', (p) => { p.spec.addresses = { fromNode: 'ExternalIP' }; }, 'NoNodeAddress'],
    ['a node selector matching nothing', (p) => { p.spec.nodes = { selector: { matchLabels: { nope: 'x' } } }; }, 'NoNodeAddress'],
    ['a reserved port (kubelet)', (p) => { p.spec.ports = [{ servicePort: 80, externalPort: 10250, protocol: 'TCP' }]; }, 'ReservedPort'],
    ['a reserved port (SSH), next to a fine one', (p) => { p.spec.ports.push({ servicePort: 80, externalPort: 22, protocol: 'TCP' }); }, 'ReservedPort'],
  ])('rejects %s with a reason, programming nothing', (_name, mutate, reason) => {
    const result = plan([makePolicy('default', 'p1', '2026-01-01T00:00:00Z', mutate)]);
    expect(condition(result, 'p1', 'Accepted')).toMatchObject({ status: 'False', reason });
    expect(condition(result, 'p1', 'Programmed')).toMatchObject({ status: 'False', reason: 'NotAccepted' });
    expect(result.byNode.size).toBe(0);
    expect(result.exposedServices.size).toBe(0);
  });

  it('counts ready endpoints per public endpoint by source NAT mode', () => {
    const endpoints: ServiceNatPlanEndpoint[] = [
      { address: '10.244.2.5', nodeName: 'node-a', ports: [], forCluster: true, forLocal: true },
      { address: '10.244.3.5', nodeName: 'node-b', ports: [], forCluster: true, forLocal: true },
      { address: '10.244.3.6', nodeName: 'node-b', ports: [], forCluster: false, forLocal: false },
    ];
    const endpointsOf = (namespace: string, service: string) => (namespace === 'default' && service === 'web' ? endpoints : undefined);
    const ready = (r: ExposureResolution) => r.policyStatus.get('default/p1')?.publicEndpoints.map((e) => [e.node, e.readyEndpoints]);
    expect(ready(plan([makePolicy('default', 'p1', '2026-01-01T00:00:00Z')], [web], nodes, { endpointsOf }))).toEqual([['node-a', 2], ['node-b', 2], ['node-c', 2]]);
    const preserve = plan([makePolicy('default', 'p1', '2026-01-01T00:00:00Z', (p) => { p.spec.sourceNAT = 'PreserveClientAddress'; })], [web], nodes, { endpointsOf });
    expect(ready(preserve)).toEqual([['node-a', 1], ['node-b', 1], ['node-c', 0]]);
    expect(condition(preserve, 'p1', 'Programmed')).toMatchObject({ status: 'True', reason: 'Programmed', message: '2 of 3 public endpoints have ready endpoints behind them' });
  });

  it.each<[string, Partial<ExposureInput>, string, string]>([
    ['endpoints not given', {}, 'Unknown', 'EndpointsUnknown'],
    ['the Service has no plan yet', { endpointsOf: () => undefined }, 'Unknown', 'EndpointsUnknown'],
    ['no usable endpoint', { endpointsOf: () => [{ address: '10.244.2.5', nodeName: 'node-a', ports: [], forCluster: false, forLocal: false }] }, 'False', 'NoReadyEndpoints'],
  ])('Programmed when %s', (_name, extra, status, reason) => {
    expect(condition(plan([makePolicy('default', 'p1', '2026-01-01T00:00:00Z')], [web], nodes, extra), 'p1', 'Programmed')).toMatchObject({ status, reason });
  });

  it('Programmed is False when every claim was lost', () => {
    const result = plan([makePolicy('default', 'old', '2026-01-01T00:00:00Z'), makePolicy('default', 'new', '2026-02-01T00:00:00Z')]);
    expect(condition(result, 'new', 'Programmed')).toMatchObject({ status: 'False', reason: 'NoExposureAssigned' });
    expect(result.policyStatus.get('default/new')?.observedGeneration).toBe(1);
  });

  it('does not depend on the order of policies, Services or nodes', () => {
    const services = [web, makeService('default', 'api', (s) => { s.metadata!.labels = { expose: 'yes' }; }), makeService('default', 'db', (s) => { s.metadata!.labels = { expose: 'yes' }; })];
    const policies = [
      makePolicy('default', 'p1', '2026-01-01T00:00:00Z'),
      makePolicy('default', 'p2', '2026-01-01T00:00:00Z', (p) => { p.spec.service = { selector: { matchLabels: { expose: 'yes' } } }; }),
      makePolicy('default', 'p3', '2026-03-01T00:00:00Z', (p) => { p.spec.addresses = { ips: ['198.51.100.9'] }; p.spec.nodes = { selector: { matchLabels: { 'natplan.io/edge': 'true' } } }; }),
    ];
    // Maps and Sets serialised in insertion order: even that order must not depend on the input order.
    const serialise = (p: ExposureResolution) => JSON.stringify(p, (_k, v: unknown) => (v instanceof Map || v instanceof Set ? [...v] : v));
    const reference = serialise(plan(policies, services, nodes));
    fc.assert(fc.property(fc.shuffledSubarray(policies, { minLength: 3 }), fc.shuffledSubarray(services, { minLength: 3 }), fc.shuffledSubarray(nodes, { minLength: 3 }), (ps, ss, ns) => {
      expect(serialise(plan(ps, ss, ns))).toBe(reference);
    }), { numRuns: 50 });
  });

  it('stops assigning exposures to a node before its NodeNatPlan would outgrow the size budget, and says so', () => {
    const ranges = Array.from({ length: 256 }, (_, i) => `2001:db8:${i.toString(16)}::/48`);
    const policy = makePolicy('default', 'wide', '2026-01-01T00:00:00Z', (p) => {
      p.spec.ports = Array.from({ length: 64 }, (_, i) => ({ servicePort: 80, externalPort: 10_000 + i, protocol: 'TCP' as const }));
      p.spec.sourceRanges = ranges;
    });
    const result = plan([policy], [web], [makeNode('node-a', 2)]);
    const assigned = result.byNode.get('node-a') ?? [];
    expect(assigned.length).toBeGreaterThan(0);
    expect(assigned.length).toBeLessThan(64);
    expect(JSON.stringify(assigned).length).toBeLessThanOrEqual(EXPOSURE_BYTES_PER_NODE);
    for (const e of assigned) expect(estimateExposureBytes(e)).toBeGreaterThanOrEqual(JSON.stringify(e).length);
    expect(condition(result, 'wide', 'Conflict')).toMatchObject({ status: 'True', reason: 'NodePlanFull' });
    expect(condition(result, 'wide', 'Conflict')?.message).toContain('the size limit of a NodeNatPlan');
  });
});
