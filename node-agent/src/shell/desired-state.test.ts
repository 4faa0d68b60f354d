import { describe, expect, it } from 'vitest';
import type { NodeNatPlan, ServiceNatPlan } from '../../../crds/generated/types.js';
import { desiredState, type LastGood } from './desired-state.js';

// Test addresses: cluster IPs 10.96.0.0/16, pods 10.244.0.0/16, nodes 172.18.0.0/16.
const node = (mutate: (n: NodeNatPlan) => void = () => {}): NodeNatPlan => {
  const n: NodeNatPlan = { apiVersion: 'natplan.io/v1alpha1', kind: 'NodeNatPlan', metadata: { name: 'node-a', generation: 2 }, spec: { nodeName: 'node-a', zone: 'z1', nodePortAddresses: ['172.18.0.2'] } };
  mutate(n);
  return n;
};
const plan = (name: string, clusterIP: string): ServiceNatPlan => ({
  apiVersion: 'natplan.io/v1alpha1', kind: 'ServiceNatPlan', metadata: { name, namespace: 'default' },
  spec: { service: { name }, part: 0, clusterIPs: [clusterIP], ports: [{ name: 'http', protocol: 'TCP', port: 80 }] },
});
const fresh = (): LastGood => ({ node: undefined, services: new Map() });

describe('desired state from cached plans', () => {
  it('valid plans become the render input with the node identity and generation', () => {
    const s = desiredState('node-a', node(), [plan('b', '10.96.0.2'), plan('a', '10.96.0.1')], fresh());
    expect(s.problems).toEqual([]);
    expect(s.generation).toBe(2);
    expect(s.input?.identity).toEqual({ nodeName: 'node-a', zone: 'z1' });
    expect(s.input?.services.map((x) => x.name)).toEqual(['a', 'b']);
  });

  it('no NodeNatPlan yet: nothing to sync', () => {
    expect(desiredState('node-a', undefined, [plan('a', '10.96.0.1')], fresh()).input).toBeUndefined();
  });

  it('an invalid ServiceNatPlan keeps its last good version in force and is reported', () => {
    const lastGood = fresh();
    desiredState('node-a', node(), [plan('a', '10.96.0.1')], lastGood);
    const s = desiredState('node-a', node(), [plan('a', '10.96.0.999')], lastGood);
    expect(s.input?.services[0]?.spec.clusterIPs).toEqual(['10.96.0.1']);
    expect(s.problems).toEqual(['ServiceNatPlan default/a is invalid (spec.clusterIPs[0]: must be a valid IP address); keeping its last good version']);
  });

  it('an invalid ServiceNatPlan never seen valid is left out, not rendered', () => {
    const s = desiredState('node-a', node(), [plan('a', 'not-an-ip'), plan('b', '10.96.0.2')], fresh());
    expect(s.input?.services.map((x) => x.name)).toEqual(['b']);
    expect(s.problems[0]).toContain('left out');
  });

  it('an invalid NodeNatPlan keeps the last good node plan', () => {
    const lastGood = fresh();
    desiredState('node-a', node(), [], lastGood);
    const s = desiredState('node-a', node((n) => { n.spec.nodePortAddresses = ['172.18.0.300']; }), [], lastGood);
    expect(s.input?.node.nodePortAddresses).toEqual(['172.18.0.2']);
    expect(s.problems[0]).toContain('NodeNatPlan node-a is invalid');
  });

  it('a deleted plan is forgotten, so it cannot come back as "last good"', () => {
    const lastGood = fresh();
    desiredState('node-a', node(), [plan('a', '10.96.0.1')], lastGood);
    desiredState('node-a', node(), [], lastGood);
    expect(lastGood.services.size).toBe(0);
  });
});
