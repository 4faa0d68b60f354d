/**
 * When the uninstall cleanup DaemonSet (charts/natplan/templates/uninstall-cleanup.yaml)
 * has run everywhere: its pods turn Ready only after their init container removed the
 * node's rules, so "every scheduled pod is Ready, at the current generation" means "every
 * node the agent ran on is clean". Pure: a DaemonSet's status in, a verdict out.
 */
export interface DaemonSetProgress {
  generation?: number;
  observedGeneration?: number;
  desiredNumberScheduled?: number;
  updatedNumberScheduled?: number;
  numberReady?: number;
}

export type CleanupVerdict = { done: true; nodes: number } | { done: false; reason: string };

export function cleanupDone(ds: DaemonSetProgress): CleanupVerdict {
  // Before the DaemonSet controller has seen this object, its counts mean nothing yet.
  if (ds.observedGeneration === undefined || ds.generation === undefined || ds.observedGeneration < ds.generation) {
    return { done: false, reason: 'the DaemonSet controller has not observed the cleanup DaemonSet yet' };
  }
  const desired = ds.desiredNumberScheduled ?? 0;
  const ready = ds.numberReady ?? 0;
  const updated = ds.updatedNumberScheduled ?? 0;
  if (ready < desired || updated < desired) return { done: false, reason: `${ready} of ${desired} nodes cleaned` };
  return { done: true, nodes: desired };
}
