import type { KubernetesObject } from '@kubernetes/client-node';
import { systemClock, type Clock } from './clock.js';
import type { Logger } from './controller.js';
import { silentLogger } from './controller.js';
import type { KubeClient } from './kube/client.js';
import { formatMicroTime } from './kube/microtime.js';
import { call } from './kube/request.js';
import { resourcePath, type ResourceType } from './kube/resources.js';

export const EVENT: ResourceType = { apiVersion: 'events.k8s.io/v1', kind: 'Event', plural: 'events', namespaced: true };

export interface EventInput {
  type: 'Normal' | 'Warning';
  /** CamelCase, why the action was taken: `ConflictDetected`. */
  reason: string;
  /** CamelCase, what was done: `Reconcile`, `Reject`. */
  action: string;
  /** Human-readable detail; cut to 1 kB as the API requires. */
  note: string;
}

export interface EventRecorderOptions {
  client: KubeClient;
  /** `natplan.io/operator`-style name of the component. */
  reportingController: string;
  /** This replica, e.g. the pod name. */
  reportingInstance: string;
  clock?: Clock;
  logger?: Logger;
  /** An identical event within this window is not written again; 10 min unless given. */
  dedupeWindowMs?: number;
  /** Per-object token bucket (client-go's spam filter): burst 25, one token per 5 min unless given. */
  burst?: number;
  refillEveryMs?: number;
}

const MAX_NOTE_BYTES = 1024;

/**
 * Records events.k8s.io/v1 Events about objects, best-effort: a failed write is logged,
 * never thrown, because an Event must not fail a reconcile. Two filters keep the API
 * quiet: identical events (same object, type, reason, action, note) within the dedupe
 * window are suppressed, and each object has a token bucket so a flapping object cannot
 * flood etcd. Suppressed events are counted in `suppressed`.
 */
export class EventRecorder {
  private readonly clock: Clock;
  private readonly logger: Logger;
  private readonly dedupeWindowMs: number;
  private readonly burst: number;
  private readonly refillEveryMs: number;
  private readonly lastSeen = new Map<string, number>();
  private readonly buckets = new Map<string, { tokens: number; at: number }>();
  private sequence = 0;
  suppressed = 0;
  written = 0;

  constructor(private readonly options: EventRecorderOptions) {
    this.clock = options.clock ?? systemClock;
    this.logger = options.logger ?? silentLogger;
    this.dedupeWindowMs = options.dedupeWindowMs ?? 10 * 60_000;
    this.burst = options.burst ?? 25;
    this.refillEveryMs = options.refillEveryMs ?? 5 * 60_000;
  }

  /** Writes the event unless filtered; resolves true when it was written. */
  async record(regarding: KubernetesObject, event: EventInput): Promise<boolean> {
    const now = this.clock.now();
    const objectId = [regarding.apiVersion, regarding.kind, regarding.metadata?.namespace ?? '', regarding.metadata?.name, regarding.metadata?.uid ?? ''].join('|');
    const eventId = [objectId, event.type, event.reason, event.action, event.note].join('|');
    this.forgetOlderThan(now - this.dedupeWindowMs);
    const seen = this.lastSeen.get(eventId);
    if ((seen !== undefined && now - seen < this.dedupeWindowMs) || !this.takeToken(objectId, now)) {
      this.suppressed++;
      return false;
    }
    this.lastSeen.set(eventId, now);
    const namespace = regarding.metadata?.namespace || 'default'; // cluster-scoped objects' events live in default
    const body = {
      apiVersion: EVENT.apiVersion,
      kind: EVENT.kind,
      // client-go's naming: the object's name and a time-based suffix, kept under the 253-character limit.
      metadata: { name: `${(regarding.metadata?.name ?? 'object').slice(0, 230)}.${(now * 1000 + (this.sequence++ % 1000)).toString(16)}`, namespace },
      eventTime: formatMicroTime(now),
      reportingController: this.options.reportingController,
      reportingInstance: this.options.reportingInstance,
      action: event.action,
      reason: event.reason,
      type: event.type,
      note: truncate(event.note, MAX_NOTE_BYTES),
      regarding: {
        apiVersion: regarding.apiVersion,
        kind: regarding.kind,
        namespace: regarding.metadata?.namespace,
        name: regarding.metadata?.name,
        uid: regarding.metadata?.uid,
        resourceVersion: regarding.metadata?.resourceVersion,
      },
    };
    try {
      await call(this.options.client.requester, { method: 'POST', path: resourcePath(EVENT, { namespace }), body: JSON.stringify(body) });
      this.written++;
      return true;
    } catch (err) {
      this.logger.error('writing event failed', { reason: event.reason, object: objectId, error: String(err) });
      return false;
    }
  }

  private takeToken(objectId: string, now: number): boolean {
    const bucket = this.buckets.get(objectId) ?? { tokens: this.burst, at: now };
    const refilled = Math.floor((now - bucket.at) / this.refillEveryMs);
    if (refilled > 0) {
      bucket.tokens = Math.min(this.burst, bucket.tokens + refilled);
      bucket.at += refilled * this.refillEveryMs;
    }
    if (bucket.tokens >= this.burst) bucket.at = now; // a full bucket does not bank time
    this.buckets.set(objectId, bucket);
    if (bucket.tokens < 1) return false;
    bucket.tokens--;
    return true;
  }

  /** Keeps memory bounded: dedupe entries past the window are useless. */
  private forgetOlderThan(cutoff: number): void {
    if (this.lastSeen.size < 1000) return;
    for (const [id, at] of this.lastSeen) if (at < cutoff) this.lastSeen.delete(id);
    for (const [id, bucket] of this.buckets) {
      if (bucket.tokens >= this.burst - 1 && bucket.at < cutoff) this.buckets.delete(id);
    }
  }
}

function truncate(text: string, maxBytes: number): string {
  if (Buffer.byteLength(text) <= maxBytes) return text;
  let cut = text.slice(0, maxBytes);
  while (Buffer.byteLength(cut) > maxBytes - 3) cut = cut.slice(0, -1);
  return `${cut}...`;
}
