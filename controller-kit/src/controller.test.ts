import { describe, expect, it } from 'vitest';
import { controller, type Result } from './controller.js';
import { PermanentError, TemporaryError } from './errors.js';
import { ApiError } from './kube/request.js';
import { Metrics, controllerMetrics, writeMetrics } from './metrics.js';
import { FakeClock, flushMicrotasks } from './testing/fake-clock.js';
import { WorkQueue } from './workqueue.js';

/** A controller whose reconcile replays a script of outcomes per call and records keys. */
function setup(script: Array<() => Promise<Result | void>>, options: { concurrency?: number } = {}) {
  const clock = new FakeClock();
  const queue = new WorkQueue({ clock, backoff: { baseMs: 100, maxMs: 1000 } });
  const metrics = new Metrics({ prefix: 'test_' });
  const calls: Array<{ key: string; at: number }> = [];
  const permanent: string[] = [];
  const c = controller({
    name: 'things',
    queue,
    clock,
    concurrency: options.concurrency ?? 1,
    metrics: controllerMetrics(metrics),
    reconcile: async (key) => {
      calls.push({ key, at: clock.now() });
      const step = script.shift();
      return step ? step() : undefined;
    },
    onPermanentError: (key, err) => void permanent.push(`${key}:${err.reason}`),
  });
  return { clock, queue, metrics, calls, permanent, c };
}

const ok = () => Promise.resolve();

describe('controller', () => {
  it('retries temporary and unknown errors with growing backoff, then forgets on success', async () => {
    const { clock, queue, calls, c, metrics } = setup([
      () => Promise.reject(new TemporaryError('conflict')),
      () => Promise.reject(new Error('boom')),
      ok,
    ]);
    c.start();
    queue.add('ns/a');
    await clock.advance(1000);
    expect(calls.map((call) => call.at - calls[0]!.at)).toEqual([0, 100, 300]);
    expect(queue.numRequeues('ns/a')).toBe(0);
    const text = await metrics.text();
    expect(text).toContain('test_controller_reconcile_errors_total{controller="things",kind="temporary"} 1');
    expect(text).toContain('test_controller_reconcile_errors_total{controller="things",kind="unknown"} 1');
    expect(text).toMatch(/test_controller_reconcile_duration_seconds_count\{controller="things",result="success"\} 1/);
    await c.stop();
  });

  it('waits at least the delay of a TemporaryError (Retry-After) when it exceeds the backoff', async () => {
    const { clock, queue, calls, c } = setup([() => Promise.reject(new TemporaryError('later', { delayMs: 700 })), ok]);
    c.start();
    queue.add('k');
    await clock.advance(699);
    expect(calls).toHaveLength(1);
    await clock.advance(1);
    expect(calls).toHaveLength(2);
    await c.stop();
  });

  it('does not retry a PermanentError and hands it to onPermanentError', async () => {
    const { clock, queue, calls, permanent, c } = setup([() => Promise.reject(new PermanentError('bad spec', { reason: 'InvalidSpec' }))]);
    c.start();
    queue.add('k');
    await clock.advance(10_000);
    expect(calls).toHaveLength(1);
    expect(permanent).toEqual(['k:InvalidSpec']);
    expect(queue.delayed()).toBe(0);
    await c.stop();
  });

  // API errors thrown as they are: the runner types them by status code (kube/api-errors.ts).
  const apiError = (status: number, reason: string, retryAfterSeconds?: number) =>
    () => Promise.reject(new ApiError(status, reason, `PATCH /x: ${status} ${reason}`, {}, retryAfterSeconds));

  it.each([
    [422, 'Invalid'],
    [400, 'BadRequest'],
    [413, 'RequestEntityTooLarge'],
  ])('an API refusal %i is permanent: one attempt, reported, no retry, no timer', async (status, reason) => {
    const { clock, queue, calls, permanent, c, metrics } = setup([apiError(status, reason)]);
    c.start();
    queue.add('ns/big');
    await clock.advance(60 * 60_000);
    expect(calls).toHaveLength(1);
    expect(permanent).toEqual([`ns/big:${reason}`]);
    expect(queue.delayed()).toBe(0);
    expect(queue.numRequeues('ns/big')).toBe(0);
    expect(await metrics.text()).toContain('test_controller_reconcile_errors_total{controller="things",kind="permanent"} 1');
    await c.stop();
  });

  it('a refused key runs again when its inputs change (something adds it), and is not retried after', async () => {
    const { clock, queue, calls, permanent, c } = setup([apiError(422, 'Invalid'), apiError(422, 'Invalid'), ok]);
    c.start();
    queue.add('ns/big');
    await clock.advance(10_000);
    queue.add('ns/big'); // e.g. an EndpointSlice of the Service changed
    await clock.advance(10_000);
    expect(calls).toHaveLength(2);
    expect(permanent).toEqual(['ns/big:Invalid', 'ns/big:Invalid']);
    queue.add('ns/big'); // the Service was fixed
    await clock.advance(10_000);
    expect(calls).toHaveLength(3);
    await c.stop();
  });

  it.each([
    [503, 'ServiceUnavailable'],
    [500, 'InternalError'],
    [403, 'Forbidden'],
    [404, 'NotFound'],
    [409, 'Conflict'],
  ])('an API error %i is temporary: retried with the growing backoff', async (status, reason) => {
    const { clock, queue, calls, permanent, c } = setup([apiError(status, reason), apiError(status, reason), ok]);
    c.start();
    queue.add('k');
    await clock.advance(1000);
    expect(calls.map((call) => call.at - calls[0]!.at)).toEqual([0, 100, 300]);
    expect(permanent).toEqual([]);
    await c.stop();
  });

  it('reports each temporary failure with the count in a row, which a success resets', async () => {
    const clock = new FakeClock();
    const queue = new WorkQueue({ clock, backoff: { baseMs: 100, maxMs: 1000 } });
    const seen: string[] = [];
    const outcomes = [403, 403, 403, 0, 403];
    const c = controller({
      name: 'things', queue, clock,
      reconcile: async () => {
        const status = outcomes.shift();
        if (status) throw new ApiError(status, 'Forbidden', 'forbidden', {});
      },
      onTemporaryError: (key, err, failures) => void seen.push(`${key}:${(err as TemporaryError).reason}:${failures}`),
    });
    c.start();
    queue.add('k');
    await clock.advance(1000);
    queue.add('k');
    await clock.advance(1000);
    expect(seen).toEqual(['k:Forbidden:1', 'k:Forbidden:2', 'k:Forbidden:3', 'k:Forbidden:1']);
    await c.stop();
  });

  it('a 429 waits for its Retry-After, and the backoff keeps growing underneath', async () => {
    const { clock, queue, calls, c } = setup([apiError(429, 'TooManyRequests', 2), apiError(429, 'TooManyRequests', 0), ok]);
    c.start();
    queue.add('k');
    await clock.advance(1999);
    expect(calls).toHaveLength(1);
    await clock.advance(1);
    expect(calls).toHaveLength(2);
    await clock.advance(199); // second failure: backoff 200 ms beats Retry-After 0
    expect(calls).toHaveLength(2);
    await clock.advance(1);
    expect(calls).toHaveLength(3);
    await c.stop();
  });

  it('a reconcile that fails because the controller is stopping is not retried or counted', async () => {
    let release!: () => void;
    const { queue, c, metrics } = setup([() => new Promise<void>((_resolve, reject) => (release = () => reject(new Error('fenced'))))]);
    c.start();
    queue.add('k');
    await flushMicrotasks();
    const stopping = c.stop();
    release();
    await stopping;
    expect(queue.delayed()).toBe(0);
    expect(await metrics.text()).not.toContain('test_controller_reconcile_errors_total{');
  });

  it('requeues after requeueAfterMs', async () => {
    const { clock, queue, calls, c } = setup([() => Promise.resolve({ requeueAfterMs: 5000 }), ok]);
    c.start();
    queue.add('k');
    await clock.advance(4999);
    expect(calls).toHaveLength(1);
    await clock.advance(1);
    expect(calls).toHaveLength(2);
    await c.stop();
  });

  it('requeue: true retries after backoff without counting an error', async () => {
    const { clock, queue, calls, c, metrics } = setup([() => Promise.resolve({ requeue: true }), ok]);
    c.start();
    queue.add('k');
    await clock.advance(99);
    expect(calls).toHaveLength(1);
    await clock.advance(1);
    expect(calls).toHaveLength(2);
    expect(await metrics.text()).not.toContain('test_controller_reconcile_errors_total{');
    await c.stop();
  });

  it('a queue it makes reports wait time and retries', async () => {
    const clock = new FakeClock();
    const metrics = new Metrics({ prefix: 'test_' });
    let fail = true;
    const c = controller({
      name: 'own-queue', clock, metrics: controllerMetrics(metrics),
      reconcile: async () => {
        if (fail) { fail = false; throw new TemporaryError('once'); }
      },
    });
    c.queue.add('k');
    await clock.advance(250);
    c.start();
    await clock.advance(10_000);
    const text = await metrics.text();
    expect(text).toContain('test_workqueue_retries_total{controller="own-queue"} 1');
    expect(text).toContain('test_workqueue_queue_duration_seconds_count{controller="own-queue"} 2');
    expect(text).toContain('test_workqueue_queue_duration_seconds_sum{controller="own-queue"} 0.25');
    await c.stop();
  });

  it('runs distinct keys in parallel but never the same key twice at once', async () => {
    const releases: Array<() => void> = [];
    const blocked = () => new Promise<void>((resolve) => releases.push(resolve));
    const { queue, calls, c } = setup([blocked, blocked, blocked], { concurrency: 3 });
    c.start();
    queue.add('a');
    queue.add('b');
    queue.add('a');
    await flushMicrotasks();
    expect(calls.map((call) => call.key)).toEqual(['a', 'b']);
    queue.add('a'); // arrives while a is in flight
    await flushMicrotasks();
    expect(calls).toHaveLength(2);
    releases[0]!();
    await flushMicrotasks();
    expect(calls.map((call) => call.key)).toEqual(['a', 'b', 'a']);
    releases.forEach((release) => release());
    await c.stop();
  });

  it('never runs more reconciles at once than its workers, and keeps them all busy', async () => {
    const releases: Array<() => void> = [];
    const blocked = () => new Promise<void>((resolve) => releases.push(resolve));
    const { queue, calls, c } = setup(Array.from({ length: 20 }, () => blocked), { concurrency: 4 });
    c.start();
    for (let i = 0; i < 20; i++) queue.add(`k${i}`);
    await flushMicrotasks();
    expect(calls).toHaveLength(4);
    expect(queue.inFlight()).toBe(4);
    releases.splice(0, 2).forEach((release) => release()); // two finish: two more start, no more
    await flushMicrotasks();
    expect(calls).toHaveLength(6);
    expect(queue.inFlight()).toBe(4);
    while (releases.length > 0) {
      releases.splice(0).forEach((release) => release());
      await flushMicrotasks();
      expect(queue.inFlight()).toBeLessThanOrEqual(4);
    }
    expect(new Set(calls.map((call) => call.key)).size).toBe(20);
    await c.stop();
  });

  it('stop waits for the reconcile in flight', async () => {
    let release!: () => void;
    const { queue, c } = setup([() => new Promise<void>((resolve) => (release = resolve))]);
    c.start();
    queue.add('k');
    await flushMicrotasks();
    let stopped = false;
    const stopping = c.stop().then(() => (stopped = true));
    await flushMicrotasks();
    expect(stopped).toBe(false);
    release();
    await stopping;
    expect(stopped).toBe(true);
  });

  it('counts writes and bytes per kind', async () => {
    const metrics = new Metrics({ prefix: 'test_' });
    const writes = writeMetrics(metrics);
    writes.record('Widget', 120);
    writes.record('Widget', 0, 'delete');
    const text = await metrics.text();
    expect(text).toContain('test_api_writes_total{kind="Widget",operation="apply"} 1');
    expect(text).toContain('test_api_writes_total{kind="Widget",operation="delete"} 1');
    expect(text).toContain('test_api_bytes_written_total{kind="Widget"} 120');
  });

  it('exposes queue depth at scrape time', async () => {
    const { queue, metrics } = setup([]);
    queue.add('a');
    queue.add('b');
    expect(await metrics.text()).toContain('test_workqueue_depth{controller="things"} 2');
  });
});
