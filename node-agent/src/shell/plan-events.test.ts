import { describe, expect, it } from 'vitest';
import type { NodeNatPlan } from '@natplan/api';
import { specChanged } from './plan-events.js';

const plan = (generation: number | undefined, resourceVersion: string, zone = 'z1', status?: NodeNatPlan['status']): NodeNatPlan => ({
  apiVersion: 'natplan.io/v1alpha1', kind: 'NodeNatPlan',
  metadata: { name: 'node-a', resourceVersion, ...(generation === undefined ? {} : { generation }) },
  spec: { nodeName: 'node-a', zone },
  ...(status ? { status } : {}),
});

describe('which plan updates request a sync', () => {
  it('a status-only write (new resourceVersion, same generation) does not', () => {
    const written = plan(3, '11', 'z1', { observedGeneration: 3, backend: 'nftables' });
    expect(specChanged(plan(3, '10'), written)).toBe(false);
  });

  it('a spec change (new generation) does', () => {
    expect(specChanged(plan(3, '10'), plan(4, '11', 'z2'))).toBe(true);
  });

  it('the start of a deletion does, even at the same generation', () => {
    const deleting = plan(3, '11');
    deleting.metadata!.deletionTimestamp = new Date('2026-01-01T00:00:00Z');
    expect(specChanged(plan(3, '10'), deleting)).toBe(true);
  });

  it('without a generation the spec is compared', () => {
    expect(specChanged(plan(undefined, '10'), plan(undefined, '11'))).toBe(false);
    expect(specChanged(plan(undefined, '10'), plan(undefined, '11', 'z2'))).toBe(true);
  });
});
