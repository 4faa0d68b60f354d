import { describe, expect, it } from 'vitest';
import type { Condition } from '@natplan/controller-kit';
import { transitionEvents } from './transition-events.js';

const at = '2026-01-01T00:00:00Z';
const cond = (type: string, status: Condition['status'], reason: string): Condition => ({ type, status, reason, message: `${type} ${reason}`, lastTransitionTime: at });

describe('transitionEvents', () => {
  it('a first status: one Event per condition but Ready, Warning for the bad ones', () => {
    expect(transitionEvents([], [cond('Accepted', 'False', 'NotGranted'), cond('Conflict', 'False', 'NoConflict'), cond('Ready', 'False', 'NotGranted')]))
      .toEqual([
        { type: 'Warning', reason: 'NotGranted', action: 'AcceptedFalse', note: 'Accepted NotGranted' },
        { type: 'Normal', reason: 'NoConflict', action: 'ConflictFalse', note: 'Conflict NoConflict' },
      ]);
  });

  it('only conditions whose status or reason changed; a changed message alone is no transition', () => {
    const before = [cond('Accepted', 'True', 'Accepted'), cond('Conflict', 'False', 'NoConflict'), cond('Programmed', 'False', 'AwaitingAgents')];
    const after = [{ ...cond('Accepted', 'True', 'Accepted'), message: 'new words' }, cond('Conflict', 'True', 'ClusterIPInUse'), cond('Programmed', 'False', 'NoReadyEndpoints')];
    expect(transitionEvents(before, after).map((e) => [e.type, e.action, e.reason])).toEqual([
      ['Warning', 'ConflictTrue', 'ClusterIPInUse'],
      ['Warning', 'ProgrammedFalse', 'NoReadyEndpoints'],
    ]);
  });

  it('nothing changed, no Events', () => {
    const same = [cond('Accepted', 'True', 'Accepted'), cond('Ready', 'True', 'Ready')];
    expect(transitionEvents(same, same)).toEqual([]);
  });
});
