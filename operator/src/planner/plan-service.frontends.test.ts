// The feature table for a Service's frontends (DESIGN.md §2): one row per behaviour.
import { describe, expect, it } from 'vitest';
import type { V1Service } from '@kubernetes/client-node';
import type { ServiceNatPlanSpec } from '@natplan/api';
import { planService, type ServicePlanResult } from './plan-service.js';
import { makeConfig, makeService } from './test-builders.js';

function part0(result: ServicePlanResult): ServiceNatPlanSpec {
  if (result.kind !== 'plan') throw new Error(`expected a plan, got skip ${result.reason}`);
  const first = result.parts[0];
  if (!first) throw new Error('no part 0');
  return first;
}

const nodePort = (s: V1Service) => {
  s.spec!.type = 'NodePort';
  s.spec!.ports = [{ name: 'http', protocol: 'TCP', port: 80, nodePort: 30080 }];
};
const loadBalancer = (s: V1Service) => {
  nodePort(s);
  s.spec!.type = 'LoadBalancer';
  s.status = { loadBalancer: { ingress: [{ ip: '198.51.100.7' }, { ip: '198.51.100.8', ipMode: 'Proxy' }, { hostname: 'lb.example.org' }] } };
};
const dualStack = (s: V1Service) => {
  s.spec!.ipFamilies = ['IPv4', 'IPv6'];
  s.spec!.clusterIPs = ['10.96.0.10', 'fd00:10:96::a'];
};

describe('planService frontends', () => {
  it.each<[string, ((s: V1Service) => void) | undefined, Partial<ServiceNatPlanSpec>]>([
    ['ClusterIP: cluster IP and port, no node port', undefined, {
      ipFamilies: ['IPv4'], clusterIPs: ['10.96.0.10'], ports: [{ name: 'http', protocol: 'TCP', port: 80 }],
      sessionAffinity: { type: 'None' }, externalTrafficPolicy: 'Cluster', internalTrafficPolicy: 'Cluster',
    }],
    ['ClusterIP with a stray nodePort: not programmed', (s) => { s.spec!.ports![0]!.nodePort = 30080; }, {
      ports: [{ name: 'http', protocol: 'TCP', port: 80 }],
    }],
    ['NodePort: node port carried', nodePort, { ports: [{ name: 'http', protocol: 'TCP', port: 80, nodePort: 30080 }] }],
    ['LoadBalancer: VIP-mode ingress IPs only (ipMode Proxy and hostnames left out)', loadBalancer, { loadBalancerIPs: ['198.51.100.7'] }],
    ['LoadBalancer without node ports (allocateLoadBalancerNodePorts=false)', (s) => {
      loadBalancer(s);
      s.spec!.allocateLoadBalancerNodePorts = false;
      s.spec!.ports = [{ name: 'http', protocol: 'TCP', port: 80 }];
    }, { ports: [{ name: 'http', protocol: 'TCP', port: 80 }], loadBalancerIPs: ['198.51.100.7'] }],
    ['eTP Local on a LoadBalancer: Local with health-check node port', (s) => {
      loadBalancer(s);
      s.spec!.externalTrafficPolicy = 'Local';
      s.spec!.healthCheckNodePort = 32000;
    }, { externalTrafficPolicy: 'Local', healthCheckNodePort: 32000 }],
    ['eTP Local on a NodePort: Local, no health check', (s) => {
      nodePort(s);
      s.spec!.externalTrafficPolicy = 'Local';
    }, { externalTrafficPolicy: 'Local', healthCheckNodePort: undefined }],
    ['eTP Local on a Service nobody reaches from outside: resolved to Cluster', (s) => {
      s.spec!.externalTrafficPolicy = 'Local';
    }, { externalTrafficPolicy: 'Cluster' }],
    ['iTP Local', (s) => { s.spec!.internalTrafficPolicy = 'Local'; }, { internalTrafficPolicy: 'Local' }],
    ['ClientIP affinity with the default timeout', (s) => { s.spec!.sessionAffinity = 'ClientIP'; }, {
      sessionAffinity: { type: 'ClientIP', timeoutSeconds: 10800 },
    }],
    ['ClientIP affinity with a timeout', (s) => {
      s.spec!.sessionAffinity = 'ClientIP';
      s.spec!.sessionAffinityConfig = { clientIP: { timeoutSeconds: 60 } };
    }, { sessionAffinity: { type: 'ClientIP', timeoutSeconds: 60 } }],
    ['source ranges from the spec, canonical', (s) => {
      loadBalancer(s);
      s.spec!.loadBalancerSourceRanges = ['203.0.113.9/24', '2001:db8::1/64'];
    }, { loadBalancerSourceRanges: ['203.0.113.0/24', '2001:db8::/64'] }],
    ['source ranges from the legacy annotation', (s) => {
      loadBalancer(s);
      s.metadata!.annotations = { 'service.beta.kubernetes.io/load-balancer-source-ranges': '203.0.113.0/24, 198.51.100.0/24' };
    }, { loadBalancerSourceRanges: ['203.0.113.0/24', '198.51.100.0/24'] }],
    ['source ranges on a ClusterIP Service: ignored', (s) => { s.spec!.loadBalancerSourceRanges = ['203.0.113.0/24']; }, {
      loadBalancerSourceRanges: undefined,
    }],
    ['external IPs: allow-listed kept, others left out', (s) => { s.spec!.externalIPs = ['192.0.2.10', '198.51.100.99']; }, {
      externalIPs: ['192.0.2.10'],
    }],
    ['dual-stack: both cluster IPs and families', dualStack, { ipFamilies: ['IPv4', 'IPv6'], clusterIPs: ['10.96.0.10', 'fd00:10:96::a'] }],
    ['dual-stack external IPs of both families', (s) => {
      dualStack(s);
      s.spec!.externalIPs = ['2001:db8::10', '192.0.2.10'];
    }, { externalIPs: ['2001:db8::10', '192.0.2.10'] }],
    ['single-stack: external IP of the other family left out', (s) => { s.spec!.externalIPs = ['2001:db8::10']; }, { externalIPs: undefined }],
    ['SCTP and UDP ports kept as they are', (s) => {
      s.spec!.ports = [{ name: 'sig', protocol: 'SCTP', port: 3868 }, { name: 'dns', protocol: 'UDP', port: 53 }];
    }, { ports: [{ name: 'sig', protocol: 'SCTP', port: 3868 }, { name: 'dns', protocol: 'UDP', port: 53 }] }],
    ['an unnamed single port defaults to TCP and name ""', (s) => { s.spec!.ports = [{ port: 443 }]; }, {
      ports: [{ name: '', protocol: 'TCP', port: 443 }],
    }],
    ['IPv6 cluster IP written canonically', (s) => {
      s.spec!.ipFamilies = ['IPv6'];
      s.spec!.clusterIPs = ['FD00:10:96:0::0A'];
    }, { clusterIPs: ['fd00:10:96::a'], ipFamilies: ['IPv6'] }],
  ])('%s', (_name, mutate, expected) => {
    const spec = part0(planService({ service: makeService('ns1', 'svc1', mutate), slices: [] }, makeConfig()));
    expect(spec).toMatchObject({ service: { name: 'svc1', uid: 'uid-ns1-svc1' }, part: 0, endpointCount: 0 });
    for (const [key, value] of Object.entries(expected)) {
      expect(spec[key as keyof ServiceNatPlanSpec], key).toEqual(value);
    }
  });

  it.each<[string, (s: V1Service) => void, string]>([
    ['external IP outside the allow-list', (s) => { s.spec!.externalIPs = ['198.51.100.99']; }, 'ExternalIPNotAllowed'],
    ['external IP that is not an IP', (s) => { s.spec!.externalIPs = ['not-an-ip']; }, 'InvalidAddress'],
    ['external IP of the other family', (s) => { s.spec!.externalIPs = ['2001:db8::10']; }, 'AddressFamilyMismatch'],
    ['source range that is not a CIDR', (s) => { loadBalancer(s); s.spec!.loadBalancerSourceRanges = ['203.0.113.0']; }, 'InvalidSourceRange'],
    ['unknown protocol', (s) => { s.spec!.ports = [{ name: 'x', protocol: 'ICMP', port: 1 }]; }, 'UnsupportedProtocol'],
  ])('reports what it leaves out: %s', (_name, mutate, reason) => {
    const result = planService({ service: makeService('ns1', 'svc1', mutate), slices: [] }, makeConfig());
    expect(result.kind === 'plan' && result.warnings.map((w) => w.reason)).toContain(reason);
  });

  it('with an empty allow-list programs no external IP at all', () => {
    const service = makeService('ns1', 'svc1', (s) => { s.spec!.externalIPs = ['192.0.2.10']; });
    expect(part0(planService({ service, slices: [] }, makeConfig({ externalIPAllowList: [] }))).externalIPs).toBeUndefined();
  });

  it('an exposure-only plan carries ports but no frontends', () => {
    const service = makeService('ns1', 'svc1', (s) => {
      loadBalancer(s);
      s.metadata!.labels = { 'service.kubernetes.io/service-proxy-name': 'kube-proxy-other' };
      s.spec!.externalIPs = ['192.0.2.10'];
      s.spec!.externalTrafficPolicy = 'Local';
      s.spec!.healthCheckNodePort = 32000;
    });
    const result = planService({ service, slices: [], exposed: true }, makeConfig());
    expect(result.kind === 'plan' && result.handling).toEqual({ kind: 'exposureOnly', because: 'OtherProxy' });
    expect(part0(result)).toEqual({
      service: { name: 'svc1', uid: 'uid-ns1-svc1' },
      part: 0,
      ipFamilies: ['IPv4'],
      ports: [{ name: 'http', protocol: 'TCP', port: 80 }],
      sessionAffinity: { type: 'None' },
      endpointCount: 0,
    });
  });

  it.each([
    ['ExternalName', (s: V1Service) => { s.spec = { type: 'ExternalName', externalName: 'db.example.org' }; }, 'ExternalName'],
    ['headless', (s: V1Service) => { s.spec!.clusterIP = 'None'; s.spec!.clusterIPs = ['None']; }, 'Headless'],
    ['another proxy', (s: V1Service) => { s.metadata!.labels = { 'service.kubernetes.io/service-proxy-name': 'cilium' }; }, 'OtherProxy'],
    ['not ours in complement mode', (s: V1Service) => { s.metadata!.labels = {}; }, 'NotOurs'],
  ])('skips %s Services', (name, mutate, reason) => {
    const config = makeConfig(name === 'not ours in complement mode' ? { mode: 'complement' } : {});
    const result = planService({ service: makeService('ns1', 'svc1', mutate), slices: [] }, config);
    expect(result).toMatchObject({ kind: 'skip', reason });
  });
});
