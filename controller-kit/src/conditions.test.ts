import { describe, expect, it } from 'vitest';
import { getCondition, isCurrent, isFalse, isTrue, removeCondition, setCondition, type ConditionInput } from './conditions.js';

const T0 = Date.UTC(2026, 0, 1, 0, 0, 0, 500);
const T1 = Date.UTC(2026, 0, 1, 0, 5, 0);

const ready = (status: ConditionInput['status'], extra: Partial<ConditionInput> = {}): ConditionInput => ({
  type: 'Ready', status, reason: 'Synced', message: '', observedGeneration: 1, ...extra,
});

describe('setCondition', () => {
  it('adds a condition with the transition time in whole seconds', () => {
    const conditions = setCondition(undefined, ready('True'), T0);
    expect(conditions).toEqual([{ ...ready('True'), lastTransitionTime: '2026-01-01T00:00:00Z' }]);
  });

  it('keeps lastTransitionTime when the status does not change, but updates the rest', () => {
    const first = setCondition([], ready('True'), T0);
    const second = setCondition(first, ready('True', { reason: 'Again', message: 'm', observedGeneration: 2 }), T1);
    expect(second[0]).toEqual({ type: 'Ready', status: 'True', reason: 'Again', message: 'm', observedGeneration: 2, lastTransitionTime: '2026-01-01T00:00:00Z' });
  });

  it('moves lastTransitionTime when the status changes', () => {
    const first = setCondition([], ready('True'), T0);
    const second = setCondition(first, ready('False', { reason: 'Failed' }), T1);
    expect(getCondition(second, 'Ready')?.lastTransitionTime).toBe('2026-01-01T00:05:00Z');
    expect(isFalse(second, 'Ready')).toBe(true);
    expect(isTrue(second, 'Ready')).toBe(false);
  });

  it('orders conditions by type whatever the order of updates, and does not mutate its input', () => {
    const a = setCondition(setCondition([], ready('True', { type: 'Ready' }), T0), ready('False', { type: 'Conflict' }), T0);
    const b = setCondition(setCondition([], ready('False', { type: 'Conflict' }), T0), ready('True', { type: 'Ready' }), T0);
    expect(a).toEqual(b);
    expect(a.map((c) => c.type)).toEqual(['Conflict', 'Ready']);
    const before = structuredClone(a);
    setCondition(a, ready('Unknown'), T1);
    expect(a).toEqual(before);
  });

  it('isCurrent checks status and observedGeneration; removeCondition drops one type', () => {
    const conditions = setCondition([], ready('True', { observedGeneration: 3 }), T0);
    expect(isCurrent(conditions, 'Ready', 'True', 3)).toBe(true);
    expect(isCurrent(conditions, 'Ready', 'True', 4)).toBe(false);
    expect(removeCondition(conditions, 'Ready')).toEqual([]);
  });
});
