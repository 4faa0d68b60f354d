import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/**
 * A thin wrapper on a prom-client Registry whose constructors are idempotent: asking
 * twice for the same metric name returns the same metric, so several controllers can
 * share one registry without "already registered" errors. Names get `prefix` in front.
 */
export class Metrics {
  readonly registry: Registry;
  readonly prefix: string;

  constructor(options: { prefix?: string; registry?: Registry; defaultMetrics?: boolean } = {}) {
    this.registry = options.registry ?? new Registry();
    this.prefix = options.prefix ?? '';
    if (options.defaultMetrics) collectDefaultMetrics({ register: this.registry, prefix: this.prefix });
  }

  counter<L extends string>(name: string, help: string, labelNames: readonly L[] = []): Counter<L> {
    return this.getOrCreate(name, () => new Counter<L>({ name: this.prefix + name, help, labelNames, registers: [this.registry] }));
  }

  gauge<L extends string>(name: string, help: string, labelNames: readonly L[] = [], collect?: (this: Gauge<L>) => void): Gauge<L> {
    return this.getOrCreate(name, () => new Gauge<L>({
      name: this.prefix + name, help, labelNames, registers: [this.registry], ...(collect ? { collect } : {}),
    }));
  }

  histogram<L extends string>(name: string, help: string, labelNames: readonly L[] = [], buckets?: number[]): Histogram<L> {
    return this.getOrCreate(name, () => new Histogram<L>({
      name: this.prefix + name, help, labelNames, registers: [this.registry], ...(buckets ? { buckets } : {}),
    }));
  }

  /** The text exposition format, as served on /metrics. */
  text(): Promise<string> {
    return this.registry.metrics();
  }

  private getOrCreate<M>(name: string, create: () => M): M {
    const existing = this.registry.getSingleMetric(this.prefix + name);
    return existing ? (existing as M) : create();
  }
}

/** Reconcile durations span fast cache-only runs to slow API writes. */
const RECONCILE_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/** The metrics every controller reports, labelled by controller name. */
export interface ControllerMetrics {
  observeReconcile(controller: string, seconds: number, result: 'success' | 'requeue' | 'error'): void;
  countError(controller: string, kind: string): void;
  observeQueueWait(controller: string, seconds: number): void;
  countRetry(controller: string): void;
  /** Registers a depth callback read at scrape time. */
  trackQueue(controller: string, depth: () => number, inFlight: () => number): void;
}

export function controllerMetrics(metrics: Metrics): ControllerMetrics {
  const duration = metrics.histogram('controller_reconcile_duration_seconds', 'Time spent in one reconcile call.', ['controller', 'result'], RECONCILE_BUCKETS);
  const errors = metrics.counter('controller_reconcile_errors_total', 'Reconcile errors by kind (temporary, permanent, unknown).', ['controller', 'kind']);
  const wait = metrics.histogram('workqueue_queue_duration_seconds', 'Time a key waits in the queue before a worker takes it.', ['controller'], RECONCILE_BUCKETS);
  const retries = metrics.counter('workqueue_retries_total', 'Rate-limited retries.', ['controller']);
  const queues = new Map<string, { depth: () => number; inFlight: () => number }>();
  metrics.gauge('workqueue_depth', 'Keys waiting in the work queue.', ['controller'], function collect() {
    for (const [name, q] of queues) this.set({ controller: name }, q.depth());
  });
  metrics.gauge('workqueue_in_flight', 'Keys being reconciled right now.', ['controller'], function collect() {
    for (const [name, q] of queues) this.set({ controller: name }, q.inFlight());
  });
  return {
    observeReconcile: (controller, seconds, result) => duration.observe({ controller, result }, seconds),
    countError: (controller, kind) => errors.inc({ controller, kind }),
    observeQueueWait: (controller, seconds) => wait.observe({ controller }, seconds),
    countRetry: (controller) => retries.inc({ controller }),
    trackQueue: (controller, depth, inFlight) => void queues.set(controller, { depth, inFlight }),
  };
}

/** Counts API writes and request bytes per kind: the write-budget metrics. */
export interface WriteMetrics {
  record(kind: string, bytes: number, operation?: string): void;
}

export function writeMetrics(metrics: Metrics): WriteMetrics {
  const writes = metrics.counter('api_writes_total', 'API writes, by kind and operation.', ['kind', 'operation']);
  const bytes = metrics.counter('api_bytes_written_total', 'Request bytes written to the API server, by kind.', ['kind']);
  return {
    record(kind, count, operation = 'apply') {
      writes.inc({ kind, operation });
      if (count > 0) bytes.inc({ kind }, count);
    },
  };
}
