/**
 * metav1.Condition helpers, with apimachinery's `meta.SetStatusCondition` semantics:
 * `lastTransitionTime` moves only when `status` changes; reason, message and
 * observedGeneration are updated in place. Functions are pure: they return new arrays
 * and never read the clock (pass `now`). Conditions are kept sorted by type so the
 * written status, and its content hash, do not depend on the order of updates.
 */
export type ConditionStatus = 'True' | 'False' | 'Unknown';

export interface Condition {
  type: string;
  status: ConditionStatus;
  reason: string;
  message: string;
  observedGeneration?: number;
  /** RFC 3339, seconds precision (metav1.Time). */
  lastTransitionTime: string;
}

export type ConditionInput = Omit<Condition, 'lastTransitionTime'>;

/** metav1.Time serializes whole seconds: `2026-01-01T00:00:00Z`. */
export function formatTime(at: Date | number): string {
  return new Date(at).toISOString().replace(/\.\d+Z$/, 'Z');
}

export function setCondition(conditions: readonly Condition[] | undefined, input: ConditionInput, now: Date | number): Condition[] {
  const list = conditions ?? [];
  const existing = list.find((c) => c.type === input.type);
  const lastTransitionTime = existing && existing.status === input.status ? existing.lastTransitionTime : formatTime(now);
  const next: Condition = { ...input, lastTransitionTime };
  if (input.observedGeneration === undefined) delete next.observedGeneration;
  return sortByType([...list.filter((c) => c.type !== input.type), next]);
}

export function removeCondition(conditions: readonly Condition[] | undefined, type: string): Condition[] {
  return sortByType((conditions ?? []).filter((c) => c.type !== type));
}

export function getCondition(conditions: readonly Condition[] | undefined, type: string): Condition | undefined {
  return conditions?.find((c) => c.type === type);
}

export function isTrue(conditions: readonly Condition[] | undefined, type: string): boolean {
  return getCondition(conditions, type)?.status === 'True';
}

export function isFalse(conditions: readonly Condition[] | undefined, type: string): boolean {
  return getCondition(conditions, type)?.status === 'False';
}

/** True when the condition exists, has `status`, and was computed for `generation`. */
export function isCurrent(conditions: readonly Condition[] | undefined, type: string, status: ConditionStatus, generation: number): boolean {
  const c = getCondition(conditions, type);
  return c !== undefined && c.status === status && c.observedGeneration === generation;
}

function sortByType(list: Condition[]): Condition[] {
  return list.sort((a, b) => (a.type < b.type ? -1 : a.type > b.type ? 1 : 0));
}
