/**
 * Plans the API server refused (a PermanentError from the writer: 400, 413, 422) are
 * reported where users look, not only in the log: a Warning Event `PlanRejected` on the
 * Service or Node with the API's message, the `natplan_plans_rejected{kind}` gauge (how
 * many objects have a refused plan right now) next to the writer's
 * `natplan_plan_errors_total` counter, and a Normal Event `PlanAccepted` once a plan of
 * that object is written again. The work queue does not retry a refused plan; the next
 * change of the object or its inputs does (controller-kit/src/controller.ts).
 * A temporary failure that keeps coming back (a 403 until RBAC is fixed, an API server
 * that stays overloaded) is retried with backoff and, after `FAILING_AFTER` failures in
 * a row (about five seconds of them), reported as a Warning Event `PlanWriteFailing`.
 */
import type { KubernetesObject } from '@kubernetes/client-node';
import type { EventRecorder, Metrics, PermanentError } from '@natplan/controller-kit';

export const PLAN_REJECTED = 'PlanRejected';
export const PLAN_ACCEPTED = 'PlanAccepted';
export const PLAN_WRITE_FAILING = 'PlanWriteFailing';
/** Failures in a row before a temporary error is reported: 5 ms doubling, so about 5 s of them. */
export const FAILING_AFTER = 10;

export class Rejections {
  /** `kind/key` of the objects whose last plan write was refused (this leadership term). */
  private readonly refused = new Set<string>();
  /** `kind/key` of the objects reported as failing temporarily. */
  private readonly failing = new Set<string>();

  constructor(private readonly events: EventRecorder, metrics: Metrics) {
    const refused = this.refused;
    metrics.gauge('plans_rejected', 'Objects whose latest plan the API server refused (fixed only by a change of the object or its inputs).', ['kind'], function collect() {
      const counts = new Map<string, number>([['ServiceNatPlan', 0], ['NodeNatPlan', 0]]);
      for (const id of refused) {
        const kind = id.slice(0, id.indexOf('/'));
        counts.set(kind, (counts.get(kind) ?? 0) + 1);
      }
      for (const [kind, n] of counts) this.set({ kind }, n);
    });
  }

  /** A new term starts from what it sees itself. */
  reset(): void {
    this.refused.clear();
    this.failing.clear();
  }

  /** Records that the plan (`planKind`) of `regarding` was refused, with the API's reason and message. */
  async rejected(regarding: KubernetesObject, key: string, planKind: string, err: PermanentError): Promise<void> {
    this.refused.add(`${planKind}/${key}`);
    await this.events.record(regarding, {
      type: 'Warning',
      reason: PLAN_REJECTED,
      action: 'WritePlan',
      note: `the API server refused the ${planKind} (${err.reason}); not retried until the ${regarding.kind} or its inputs change: ${err.message}`,
    });
  }

  /** Records a temporary failure; reports it once it has failed `FAILING_AFTER` times in a row. */
  async failed(regarding: KubernetesObject | undefined, key: string, planKind: string, err: unknown, failures: number): Promise<void> {
    if (failures < FAILING_AFTER || !regarding) return;
    this.failing.add(`${planKind}/${key}`);
    const reason = (err as { reason?: unknown }).reason;
    await this.events.record(regarding, {
      type: 'Warning',
      reason: PLAN_WRITE_FAILING,
      action: 'WritePlan',
      note: `writing the ${planKind} keeps failing${typeof reason === 'string' ? ` (${reason})` : ''}; retried with backoff: ${err instanceof Error ? err.message : String(err)}`,
    });
  }

  /** Call after a successful reconcile: says so once if the plan had been refused or reported failing before. */
  async accepted(regarding: KubernetesObject | undefined, key: string, planKind: string): Promise<void> {
    const id = `${planKind}/${key}`;
    const wasRefused = this.refused.delete(id);
    const wasFailing = this.failing.delete(id);
    if (!(wasRefused || wasFailing) || !regarding) return;
    await this.events.record(regarding, { type: 'Normal', reason: PLAN_ACCEPTED, action: 'WritePlan', note: `the ${planKind} was written; the earlier ${wasRefused ? 'refusal' : 'failure'} no longer applies` });
  }
}
