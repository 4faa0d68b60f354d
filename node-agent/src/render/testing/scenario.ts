/**
 * One node's worth of Services covering every behaviour the renderers implement; shared
 * by the packet-trace tables of both backends and by the goldens. Addresses: see builders.ts.
 */
import type { RenderInput } from '../plan.js';
import { makeEndpoint, makeExposure, makeInput, makeServicePlan, THIS_NODE } from './builders.js';

const here = (address: string, zone = 'zone-1') => makeEndpoint(address, (e) => { e.nodeName = THIS_NODE; e.zone = zone; });
const there = (address: string) => makeEndpoint(address);

export function scenarioInput(editNode: Parameters<typeof makeInput>[1] = () => {}): RenderInput {
  return { options: { serviceCIDRs: ['10.96.0.0/16', 'fd00:10:96::/108'] }, ...scenarioServices(editNode) };
}

function scenarioServices(editNode: NonNullable<Parameters<typeof makeInput>[1]>): RenderInput {
  return makeInput([
    makeServicePlan('ns1', 'web', (s) => {
      s.ports = [{ name: 'http', protocol: 'TCP', port: 80, nodePort: 30080 }];
      s.externalIPs = ['192.0.2.10'];
      s.loadBalancerIPs = ['198.51.100.7'];
      s.endpoints = [here('10.244.1.5'), there('10.244.2.9')];
    }),
    makeServicePlan('ns1', 'local', (s) => {
      s.clusterIPs = ['10.96.0.11'];
      s.ports = [{ name: 'http', protocol: 'TCP', port: 80, nodePort: 30081 }];
      s.loadBalancerIPs = ['198.51.100.8'];
      s.externalTrafficPolicy = 'Local';
      s.healthCheckNodePort = 32000;
      s.endpoints = [here('10.244.1.6'), there('10.244.2.6')];
    }),
    makeServicePlan('ns1', 'remote-only', (s) => {
      s.clusterIPs = ['10.96.0.12'];
      s.ports = [{ name: 'http', protocol: 'TCP', port: 80, nodePort: 30082 }];
      s.externalIPs = ['192.0.2.11'];
      s.loadBalancerIPs = ['198.51.100.11'];
      s.externalTrafficPolicy = 'Local';
      s.endpoints = [there('10.244.2.7')];
    }),
    makeServicePlan('ns1', 'empty', (s) => {
      s.clusterIPs = ['10.96.0.13'];
      s.ports = [{ name: 'http', protocol: 'TCP', port: 80, nodePort: 30083 }];
    }),
    makeServicePlan('ns1', 'internal-local', (s) => {
      s.clusterIPs = ['10.96.0.14'];
      s.internalTrafficPolicy = 'Local';
      s.endpoints = [there('10.244.2.14')];
    }),
    makeServicePlan('ns1', 'internal-local-here', (s) => {
      s.clusterIPs = ['10.96.0.23'];
      s.internalTrafficPolicy = 'Local';
      s.endpoints = [here('10.244.1.23'), there('10.244.2.23')];
    }),
    makeServicePlan('ns1', 'topology', (s) => {
      s.clusterIPs = ['10.96.0.15'];
      s.endpoints = [
        makeEndpoint('10.244.1.8', (e) => { e.forZones = ['zone-1']; }),
        makeEndpoint('10.244.2.8', (e) => { e.forZones = ['zone-2']; }),
      ];
    }),
    makeServicePlan('ns1', 'firewalled', (s) => {
      s.clusterIPs = ['10.96.0.16'];
      s.loadBalancerIPs = ['198.51.100.9'];
      s.loadBalancerSourceRanges = ['203.0.113.0/24'];
      s.endpoints = [there('10.244.2.16')];
    }),
    makeServicePlan('ns1', 'dns', (s) => {
      s.clusterIPs = ['10.96.0.17'];
      s.ports = [{ name: 'dns', protocol: 'UDP', port: 53 }];
      s.endpoints = [there('10.244.2.10')];
    }),
    makeServicePlan('ns1', 'diameter', (s) => {
      s.clusterIPs = ['10.96.0.18'];
      s.ports = [{ name: 'http', protocol: 'SCTP', port: 3868 }];
      s.endpoints = [there('10.244.2.18')];
    }),
    makeServicePlan('ns1', 'dual', (s) => {
      s.ipFamilies = ['IPv4', 'IPv6'];
      s.clusterIPs = ['10.96.0.19', 'fd00:10:96::19'];
      s.endpoints = [there('10.244.2.19'), there('fd00:10:244:2::19')];
    }),
    makeServicePlan('ns1', 'big', (s) => {
      s.clusterIPs = ['10.96.0.20'];
      s.endpoints = [there('10.244.2.20')];
    }),
    makeServicePlan('ns1', 'big', (s) => { s.endpoints = [there('10.244.3.20')]; }, 1),
    makeServicePlan('ns1', 'sticky', (s) => {
      s.clusterIPs = ['10.96.0.21'];
      s.sessionAffinity = { type: 'ClientIP', timeoutSeconds: 600 };
      s.endpoints = [there('10.244.2.21'), there('10.244.3.21')];
    }),
    makeServicePlan('ns1', 'game', (s) => {
      s.clusterIPs = ['10.96.0.22'];
      s.ports = [{ name: 'dns', protocol: 'UDP', port: 7777 }];
      s.endpoints = [here('10.244.1.22'), there('10.244.2.22')];
    }),
  ], (node) => {
    node.exposures = [
      makeExposure('web', (x) => { x.sourceRanges = ['203.0.113.0/24']; }),
      makeExposure('game', (x) => { x.servicePort = 7777; x.protocol = 'UDP'; x.address = '198.51.100.50'; x.port = 27015; x.sourceNAT = 'PreserveClientAddress'; }),
      makeExposure('missing', (x) => { x.address = '198.51.100.51'; x.port = 9999; }),
      makeExposure('remote-only', (x) => { x.address = '198.51.100.52'; x.port = 80; x.sourceNAT = 'PreserveClientAddress'; }),
    ];
    editNode(node);
  });
}
