import { describe, expect, it } from 'vitest';
import { warningEvents } from './warning-events.js';

describe('warningEvents', () => {
  it('one Event per reason, in the order the reasons first appear', () => {
    expect(warningEvents([
      { reason: 'ExternalIPNotAllowed', message: "externalIP 198.51.100.99 is outside the operator's allow-list" },
      { reason: 'InvalidSourceRange', message: 'load-balancer source range "x" is not a CIDR' },
      { reason: 'ExternalIPNotAllowed', message: "externalIP 198.51.100.98 is outside the operator's allow-list" },
    ])).toEqual([
      { type: 'Warning', reason: 'ExternalIPNotAllowed', action: 'Plan', note: "externalIP 198.51.100.99 is outside the operator's allow-list; externalIP 198.51.100.98 is outside the operator's allow-list" },
      { type: 'Warning', reason: 'InvalidSourceRange', action: 'Plan', note: 'load-balancer source range "x" is not a CIDR' },
    ]);
  });

  it('quotes the first three of a reason and counts the rest', () => {
    const many = Array.from({ length: 1000 }, (_, i) => ({ reason: 'InvalidAddress' as const, message: `endpoint address "bad-${i}" is not an IPv4 address` }));
    const events = warningEvents(many);
    expect(events).toHaveLength(1);
    expect(events[0]!.note).toBe('endpoint address "bad-0" is not an IPv4 address; endpoint address "bad-1" is not an IPv4 address; endpoint address "bad-2" is not an IPv4 address; and 997 more (1000 in all)');
  });

  it('no warnings, no Events', () => {
    expect(warningEvents([])).toEqual([]);
  });
});
