import { describe, expect, it } from 'vitest';
import { readyCondition, type ConditionDraft } from './policy-status.js';

type Status = ConditionDraft['status'];
const accepted = (status: Status, reason = status === 'True' ? 'Accepted' : 'NotGranted'): ConditionDraft => ({ type: 'Accepted', status, reason, message: `accepted ${reason}` });
const programmed = (status: Status, reason = status === 'True' ? 'Programmed' : 'AwaitingAgents'): ConditionDraft => ({ type: 'Programmed', status, reason, message: `programmed ${reason}` });
const conflict = (status: Status, reason = status === 'True' ? 'AddressPortInUse' : 'NoConflict'): ConditionDraft => ({ type: 'Conflict', status, reason, message: status === 'True' ? 'held by shop/old' : '' });

describe('readyCondition (kstatus summary of a NatExposurePolicy)', () => {
  it.each([
    ['all good', [accepted('True'), programmed('True'), conflict('False')], 'True', 'Ready'],
    ['not accepted wins over everything', [accepted('False', 'ReservedPort'), programmed('False', 'NotAccepted'), conflict('True')], 'False', 'ReservedPort'],
    ['a conflict, even a partial one, is not ready', [accepted('True'), programmed('True'), conflict('True', 'ClusterIPInUse')], 'False', 'ClusterIPInUse'],
    ['agents have not enforced it yet', [accepted('True'), programmed('False', 'AwaitingAgents'), conflict('False')], 'False', 'AwaitingAgents'],
    ['no ready endpoints behind it', [accepted('True'), programmed('False', 'NoReadyEndpoints'), conflict('False')], 'False', 'NoReadyEndpoints'],
    ['endpoints not known yet: unknown, not false', [accepted('True'), programmed('Unknown', 'EndpointsUnknown'), conflict('False')], 'Unknown', 'EndpointsUnknown'],
    ['no conditions at all yet', [], 'Unknown', 'Pending'],
    ['accepted, programmed not computed yet', [accepted('True'), conflict('False')], 'Unknown', 'Pending'],
  ] as const)('%s -> %s (%s)', (_name, conditions, status, reason) => {
    const ready = readyCondition(conditions);
    expect(ready).toMatchObject({ type: 'Ready', status, reason });
    expect(ready.message).not.toBe('');
  });

  it('carries the cause in its message', () => {
    expect(readyCondition([accepted('True'), programmed('True'), conflict('True')]).message).toBe('in conflict: held by shop/old');
  });
});
