// Names of plan objects. Deterministic names are what make reconcile
// level-based (controller-runtime): the desired object set is a function of the input.

/**
 * Name of a ServiceNatPlan part: the Service's name for part 0, "<name>.<part>" after.
 * Service names are DNS-1035 labels (no dots), so these never collide with another
 * Service's part 0.
 */
export function servicePlanName(serviceName: string, part: number): string {
  return part === 0 ? serviceName : `${serviceName}.${part}`;
}
