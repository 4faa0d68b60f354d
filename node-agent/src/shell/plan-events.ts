/**
 * Which informer updates ask for a sync. The agent watches its own NodeNatPlan, whose
 * status it writes itself: a status-only update (same generation and spec) changes
 * nothing the agent enforces, and a sync for it would only rewrite the same rules. The
 * resourceVersion changes on every write, so it is not the thing to compare.
 */
interface PlanObject {
  metadata?: { generation?: number; deletionTimestamp?: Date | string };
  spec?: unknown;
}

/** Whether an update changed what the agent enforces (spec) or the plan's life (deletion). */
export function specChanged(previous: PlanObject, next: PlanObject): boolean {
  if (String(previous.metadata?.deletionTimestamp ?? '') !== String(next.metadata?.deletionTimestamp ?? '')) return true;
  const [a, b] = [previous.metadata?.generation, next.metadata?.generation];
  // The API server bumps generation on every spec change; without one, compare the spec.
  if (a !== undefined && b !== undefined) return a !== b;
  return JSON.stringify(previous.spec) !== JSON.stringify(next.spec);
}
