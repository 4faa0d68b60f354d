/**
 * When a sync must be full instead of incremental, as pure functions over the applier's
 * bookkeeping (time passed in): TransactionalApplier carries the state, these decide.
 */

/**
 * A periodic repair waits at least this many times the cost of the last full sync, so
 * that at 30k Services (a full sync of ~30 s measured here on 2 busy cores) repairs take
 * at most ~1% of the agent's time instead of a quarter of it at a fixed 5 minutes.
 */
export const REPAIR_COST_FACTOR = 100;

export interface FullSyncState {
  /** Whether anything was committed since the start (or the last cleanup). */
  committed: boolean;
  /** "Next sync is full": set by a failure, an unconfirmed kernel, drift or a resync. */
  requested: boolean;
  /** When the last full sync started, and how long it took (ms on the applier's clock). */
  lastFullAtMs: number;
  lastFullCostMs: number;
}

export type FullSyncReason = 'start' | 'requested' | 'repairDue' | 'renderer';

/**
 * Why the sync starting at `nowMs` must be full, or undefined when an incremental one will
 * do. `rendererNeedsFull`: the renderer lost track of what changed since the last commit
 * (asked only once it rendered; a render that throws never gets that far).
 */
export function fullSyncReason(state: FullSyncState, nowMs: number, intervalMs: number, rendererNeedsFull = false): FullSyncReason | undefined {
  if (!state.committed) return 'start';
  if (state.requested) return 'requested';
  if (nowMs - state.lastFullAtMs >= Math.max(intervalMs, REPAIR_COST_FACTOR * state.lastFullCostMs)) return 'repairDue';
  return rendererNeedsFull ? 'renderer' : undefined;
}

/** How a sync ended, for the bookkeeping of the next one. */
export type SyncEnd =
  /** The renderer threw: nothing reached the kernel, the state is as before. */
  | { kind: 'renderFailed' }
  /** The commit failed (rolled back, or a split cold start partly landed). */
  | { kind: 'commitFailed' }
  | { kind: 'committed'; full: boolean; startedAtMs: number; finishedAtMs: number; kernelConfirmed: boolean };

export function afterSync(state: FullSyncState, end: SyncEnd): FullSyncState {
  switch (end.kind) {
    case 'renderFailed':
      return state;
    case 'commitFailed':
      // Either way only a full sync restores a known state.
      return { ...state, requested: true };
    case 'committed': {
      const next = end.full
        ? { committed: true, requested: false, lastFullAtMs: end.startedAtMs, lastFullCostMs: end.finishedAtMs - end.startedAtMs }
        : { ...state, committed: true };
      // Status must be true of the kernel: a commit it does not hold is repaired in full.
      return end.kernelConfirmed ? next : { ...next, requested: true };
    }
  }
}
