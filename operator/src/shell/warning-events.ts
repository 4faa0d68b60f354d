/**
 * Planner warnings as Events: one Warning Event per reason, not per warning, so a Service
 * with a thousand bad endpoint addresses makes one `InvalidAddress` Event that names the
 * first few and the total, instead of a thousand (the recorder's per-object token bucket
 * would cut those off after 25 anyway, losing the other reasons).
 */
import type { EventInput } from '@natplan/controller-kit';
import type { PlanWarning } from '../planner/index.js';

/** How many messages of one reason an Event quotes before it only counts. */
export const QUOTED_PER_REASON = 3;

export function warningEvents(warnings: readonly PlanWarning[]): EventInput[] {
  const byReason = new Map<string, string[]>();
  for (const w of warnings) {
    const messages = byReason.get(w.reason) ?? [];
    messages.push(w.message);
    byReason.set(w.reason, messages);
  }
  return [...byReason].map(([reason, messages]) => {
    const quoted = messages.slice(0, QUOTED_PER_REASON).join('; ');
    const rest = messages.length - QUOTED_PER_REASON;
    return { type: 'Warning', reason, action: 'Plan', note: rest > 0 ? `${quoted}; and ${rest} more (${messages.length} in all)` : quoted };
  });
}
