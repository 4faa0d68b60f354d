/**
 * Writes plan objects by server-side apply (field manager natplan-operator), and only when
 * what the operator owns differs from the live object: a restart with nothing changed
 * writes nothing, and a hand edit of an owned field is repaired on the next reconcile.
 * Counts writes and bytes per kind (the API write budget of DESIGN.md §1 is measured here).
 * A failed write is thrown typed (controller-kit/src/kube/api-errors.ts: a 422 is a
 * PermanentError, a 503 a TemporaryError) and counted in `natplan_plan_errors_total`
 * by kind, class and the API's reason, so every refused attempt is visible.
 */
import type { KubernetesObject } from '@kubernetes/client-node';
import {
  applyObject, applyStatus, canonicalJson, deleteObject, PermanentError, TemporaryError, typedApiError,
} from '@natplan/controller-kit';
import type { KubeClient, Logger, Metrics } from '@natplan/controller-kit';

export const FIELD_MANAGER = 'natplan-operator';

type Owned = KubernetesObject & { spec?: unknown; status?: unknown };

/** The part of an object the operator owns, in a form that compares equal when unchanged. */
function ownedView(obj: Owned, like: Owned, part: 'spec' | 'status'): string {
  const pick = (map: Record<string, string> | undefined, keys: Record<string, string> | undefined) =>
    Object.fromEntries(Object.keys(keys ?? {}).map((k) => [k, map?.[k]]));
  return canonicalJson({
    labels: pick(obj.metadata?.labels, like.metadata?.labels),
    annotations: pick(obj.metadata?.annotations, like.metadata?.annotations),
    owners: (obj.metadata?.ownerReferences ?? []).map((o) => ({ apiVersion: o.apiVersion, kind: o.kind, name: o.name, uid: o.uid, controller: o.controller })),
    [part]: obj[part],
  });
}

/** Identifies one object across kinds: kind/namespace/name. */
const idOf = (obj: KubernetesObject): string => `${obj.kind ?? ''}/${obj.metadata?.namespace ?? ''}/${obj.metadata?.name ?? ''}`;

export class PlanWriter {
  /** What this writer last applied, by id: the desired state its watch events are compared with. */
  private readonly decided = new Map<string, Owned>();
  private readonly writes;
  private readonly bytes;
  private readonly errors;

  constructor(private readonly client: KubeClient, metrics: Metrics, private readonly logger: Logger) {
    this.writes = metrics.counter('operator_writes_total', 'API writes by the operator, by kind and operation.', ['kind', 'op']);
    this.bytes = metrics.counter('operator_bytes_written_total', 'Request bytes the operator wrote, by kind.', ['kind']);
    this.errors = metrics.counter('plan_errors_total', 'Failed plan and status writes, by kind, class (permanent: refused, not retried; temporary: retried) and API reason.', ['kind', 'class', 'reason']);
  }

  /** Applies `desired` unless `live` already has the same owned content. */
  async apply(desired: Owned, live: Owned | undefined): Promise<boolean> {
    if (live && ownedView(live, desired, 'spec') === ownedView(desired, desired, 'spec')) return false;
    // Recorded before sending: the watch may bring the write back before its response.
    this.decided.set(idOf(desired), desired);
    const { bytesWritten } = await this.typed(desired, applyObject(this.client, desired, { fieldManager: FIELD_MANAGER }));
    this.count(desired, 'apply', bytesWritten);
    return true;
  }

  /**
   * Forgets every decision: a new leadership term starts from fresh caches, and a plan it
   * lists at start (say, of a Service deleted between terms) must reach its Service.
   */
  forgetDecisions(): void {
    this.decided.clear();
  }

  /**
   * True when `seen` (a watch event's object, with its kind set) holds in the fields the
   * operator owns exactly what this writer last applied to it: most often its own write
   * coming back, which needs no reconcile. A hand edit of an owned field, or an object this
   * writer never applied, is false; so the Service is reconciled and the plan repaired.
   */
  isAsDecided(seen: Owned): boolean {
    const desired = this.decided.get(idOf(seen));
    return desired !== undefined && ownedView(seen, desired, 'spec') === ownedView(desired, desired, 'spec');
  }

  /** Applies status (conditions etc.) unless `liveStatus` is the same. */
  async applyStatus(desired: Owned, liveStatus: unknown): Promise<boolean> {
    if (canonicalJson(liveStatus ?? null) === canonicalJson(desired.status ?? null)) return false;
    const { bytesWritten } = await this.typed(desired, applyStatus(this.client, desired, { fieldManager: FIELD_MANAGER }));
    this.count(desired, 'status', bytesWritten);
    return true;
  }

  async delete(obj: Owned): Promise<void> {
    this.decided.delete(idOf(obj));
    if (await this.typed(obj, deleteObject(this.client, obj))) this.count(obj, 'delete', 0);
  }

  /** Awaits a write; its failure is rethrown typed and counted (a fenced write after leadership ended is neither). */
  private async typed<T>(obj: Owned, write: Promise<T>): Promise<T> {
    try {
      return await write;
    } catch (thrown) {
      const err = typedApiError(thrown);
      if (err instanceof PermanentError || err instanceof TemporaryError) {
        this.errors.inc({ kind: obj.kind ?? 'unknown', class: err instanceof PermanentError ? 'permanent' : 'temporary', reason: err.reason });
      }
      throw err;
    }
  }

  private count(obj: Owned, op: string, bytes: number): void {
    const kind = obj.kind ?? 'unknown';
    this.writes.inc({ kind, op });
    if (bytes > 0) this.bytes.inc({ kind }, bytes);
    this.logger.info('wrote', { kind, op, namespace: obj.metadata?.namespace, name: obj.metadata?.name, bytes });
  }
}
