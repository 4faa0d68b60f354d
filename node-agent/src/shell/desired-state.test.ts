import { describe, expect, it } from 'vitest';
import type { NodeNatPlan, ServiceNatPlan } from '@natplan/api';
import { desiredState, newLastGood, type LastGood } from './desired-state.js';

// Test addresses: cluster IPs 10.96.0.0/16, pods 10.244.0.0/16, nodes 172.18.0.0/16.
const node = (mutate: (n: NodeNatPlan) => void = () => {}): NodeNatPlan => {
  const n: NodeNatPlan = { apiVersion: 'natplan.io/v1alpha1', kind: 'NodeNatPlan', metadata: { name: 'node-a', generation: 2, uid: 'n1', resourceVersion: '1' }, spec: { nodeName: 'node-a', zone: 'z1', nodePortAddresses: ['172.18.0.2'] } };
  mutate(n);
  return n;
};
const plan = (name: string, clusterIP: string): ServiceNatPlan => ({
  apiVersion: 'natplan.io/v1alpha1', kind: 'ServiceNatPlan', metadata: { name, namespace: 'default' },
  spec: { service: { name }, part: 0, clusterIPs: [clusterIP], ports: [{ name: 'http', protocol: 'TCP', port: 80 }] },
});
const fresh = (): LastGood => newLastGood();
/** The plan as the API server would send it: with a uid and a resourceVersion. */
const stored = (p: ServiceNatPlan, resourceVersion: string, uid = `uid-${p.metadata?.name}`): ServiceNatPlan => ({ ...p, metadata: { ...p.metadata, uid, resourceVersion } });

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
    const s = desiredState('node-a', node((n) => { n.spec.nodePortAddresses = ['172.18.0.300']; n.metadata!.resourceVersion = '2'; }), [], lastGood);
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

describe('validation once per resourceVersion', () => {
  it('a plan whose uid and resourceVersion did not change is not validated again', () => {
    const lastGood = fresh();
    const plans = [stored(plan('a', '10.96.0.1'), '5'), stored(plan('b', '10.96.0.2'), '6')];
    desiredState('node-a', node(), plans, lastGood);
    expect(lastGood.validations).toEqual({ hits: 0, misses: 3 }); // the node and both plans
    // One plan changes (new resourceVersion): only that one is validated.
    const s = desiredState('node-a', node(), [plans[0]!, stored(plan('b', '10.96.0.3'), '7')], lastGood);
    // The node plan's verdict is reused; plan a, the same object at the same place, is not even looked at.
    expect(lastGood.validations).toEqual({ hits: 1, misses: 4 });
    expect(s.input?.services.map((x) => x.spec.clusterIPs)).toEqual([['10.96.0.1'], ['10.96.0.3']]);
  });

  it('the verdict is the one cached: an unchanged version is trusted, a recreated object (new uid) is validated', () => {
    const lastGood = fresh();
    desiredState('node-a', node(), [stored(plan('a', '10.96.0.1'), '5')], lastGood);
    // Same uid and resourceVersion but different content cannot happen on an API server;
    // here it proves the second call used the cached verdict rather than validating.
    const cached = desiredState('node-a', node(), [stored(plan('a', 'not-an-ip'), '5')], lastGood);
    expect(cached.problems).toEqual([]);
    const recreated = desiredState('node-a', node(), [stored(plan('a', 'not-an-ip'), '5', 'uid-other')], lastGood);
    expect(recreated.problems[0]).toContain('ServiceNatPlan default/a is invalid');
  });

  it('a new resourceVersion that is invalid keeps the last good version and is reported on every sync', () => {
    const lastGood = fresh();
    desiredState('node-a', node(), [stored(plan('a', '10.96.0.1'), '5')], lastGood);
    const bad = stored(plan('a', '10.96.0.999'), '6');
    for (const round of [1, 2]) {
      const s = desiredState('node-a', node(), [bad], lastGood);
      expect(s.input?.services[0]?.spec.clusterIPs, `round ${round}`).toEqual(['10.96.0.1']);
      expect(s.problems).toEqual(['ServiceNatPlan default/a is invalid (spec.clusterIPs[0]: must be a valid IP address); keeping its last good version']);
    }
    // The invalid version was validated once; the second sync did not look at it again
    // (same object at the same place) and still reported it.
    expect(lastGood.validations).toEqual({ hits: 2, misses: 3 });
  });

  it('a deleted plan is forgotten by the cache too, so entries do not grow with churn', () => {
    const lastGood = fresh();
    for (let i = 0; i < 20; i++) desiredState('node-a', node(), [stored(plan(`p${i}`, '10.96.0.1'), String(i))], lastGood);
    expect([...lastGood.verdicts.keys()].filter((k) => k !== '')).toEqual(['default/p19']);
    expect([...lastGood.services.keys()]).toEqual(['default/p19']);
    // Re-created under the same name with an invalid spec: no last good version comes back.
    desiredState('node-a', node(), [], lastGood);
    const s = desiredState('node-a', node(), [stored(plan('p19', 'not-an-ip'), '19')], lastGood);
    expect(s.problems[0]).toContain('left out');
  });

  it('the NodeNatPlan is validated once per resourceVersion as well', () => {
    const lastGood = fresh();
    desiredState('node-a', node(), [], lastGood);
    desiredState('node-a', node(), [], lastGood);
    expect(lastGood.validations).toEqual({ hits: 1, misses: 1 });
    desiredState('node-a', node((n) => { n.metadata!.resourceVersion = '2'; }), [], lastGood);
    expect(lastGood.validations).toEqual({ hits: 1, misses: 2 });
  });
});

describe('plans replaced in place', () => {
  it('looking only at the replaced plans gives what a scan of every plan gives', () => {
    // Versions of p0..p3 at their places in the cache; 'bad' versions fail validation.
    const steps: [index: number, clusterIP: string][] = [[1, '10.96.0.21'], [2, 'bad'], [2, '10.96.0.32'], [0, 'bad'], [3, 'bad'], [3, '10.96.0.43'], [0, '10.96.0.10']];
    const list = [0, 1, 2, 3].map((i) => stored(plan(`p${i}`, `10.96.0.${i + 1}`), '1'));
    const [incremental, scanning] = [fresh(), fresh()];
    const run = (lastGood: LastGood, scan: boolean) => {
      if (scan) delete lastGood.last;
      const s = desiredState('node-a', node(), [...list], lastGood);
      return { services: s.input?.services.map((e) => [e.name, e.spec.clusterIPs]), problems: s.problems };
    };
    expect(run(incremental, false)).toEqual(run(scanning, true));
    steps.forEach(([index, ip], k) => {
      list[index] = stored(plan(`p${index}`, ip === 'bad' ? 'not-an-ip' : ip), String(k + 2));
      expect(run(incremental, false), `step ${k}`).toEqual(run(scanning, true));
    });
    expect(incremental.validations.misses).toBe(scanning.validations.misses);
  });
});
