/**
 * A policy's condition transitions as Events: one per condition whose status or reason
 * changed, Warning when the condition is now bad (`Conflict=True`, any other `False`),
 * Normal otherwise. `Ready` is left out: it restates the others, and its transitions would
 * only double their Events.
 */
import type { Condition, EventInput } from '@natplan/controller-kit';

export function transitionEvents(before: readonly Condition[], after: readonly Condition[]): EventInput[] {
  const events: EventInput[] = [];
  for (const c of after) {
    const old = before.find((b) => b.type === c.type);
    if (c.type === 'Ready' || (old?.status === c.status && old.reason === c.reason)) continue;
    const bad = (c.type === 'Conflict' && c.status === 'True') || (c.type !== 'Conflict' && c.status === 'False');
    events.push({ type: bad ? 'Warning' : 'Normal', reason: c.reason, action: `${c.type}${c.status}`, note: c.message });
  }
  return events;
}
