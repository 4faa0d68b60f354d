import { describe, expect, it } from 'vitest';
import { FakeClock } from './testing/fake-clock.js';
import { WorkQueue } from './workqueue.js';

function makeQueue() {
  const clock = new FakeClock();
  const queue = new WorkQueue({ clock, backoff: { baseMs: 10, maxMs: 80 } });
  return { clock, queue };
}

describe('WorkQueue', () => {
  it('coalesces a key added several times while queued', async () => {
    const { queue } = makeQueue();
    queue.add('a');
    queue.add('b');
    queue.add('a');
    expect(queue.len()).toBe(2);
    expect(await queue.get()).toBe('a');
    expect(await queue.get()).toBe('b');
    expect(queue.len()).toBe(0);
  });

  it('never hands a key in flight to a second worker, and re-queues it after done', async () => {
    const { queue } = makeQueue();
    queue.add('a');
    const first = await queue.get();
    queue.add('a');
    queue.add('a');
    expect(queue.len()).toBe(0); // held back while processing
    let second: string | undefined = 'none';
    void queue.get().then((k) => (second = k));
    await Promise.resolve();
    expect(second).toBe('none');
    queue.done(first!);
    await Promise.resolve();
    expect(second).toBe('a');
    queue.done('a');
    expect(queue.len()).toBe(0);
  });

  it('wakes a waiting worker when a key arrives', async () => {
    const { queue } = makeQueue();
    const pending = queue.get();
    queue.add('x');
    expect(await pending).toBe('x');
  });

  it('addAfter delays the key and keeps the earliest time', async () => {
    const { clock, queue } = makeQueue();
    queue.addAfter('a', 100);
    queue.addAfter('a', 50);
    queue.addAfter('a', 500);
    expect(queue.delayed()).toBe(1);
    await clock.advance(49);
    expect(queue.len()).toBe(0);
    await clock.advance(1);
    expect(queue.len()).toBe(1);
    expect(queue.delayed()).toBe(0);
  });

  it('retries with per-key exponential backoff up to a cap, and forget resets it', async () => {
    const { clock, queue } = makeQueue();
    const delays: number[] = [];
    for (let i = 0; i < 5; i++) {
      const start = clock.now();
      queue.addRateLimited('a');
      while (queue.len() === 0) await clock.advance(1);
      delays.push(clock.now() - start);
      queue.done((await queue.get())!);
    }
    expect(delays).toEqual([10, 20, 40, 80, 80]);
    expect(queue.numRequeues('a')).toBe(5);
    queue.forget('a');
    expect(queue.numRequeues('a')).toBe(0);
    queue.addRateLimited('b');
    await clock.advance(10);
    expect(queue.len()).toBe(1); // other keys have their own counter
  });

  it('reports queue wait time and retries', async () => {
    const clock = new FakeClock();
    const waits: string[] = [];
    const retries: string[] = [];
    const queue = new WorkQueue({ clock, onWait: (k, ms) => waits.push(`${k}:${ms}`), onRetry: (k) => retries.push(k) });
    queue.add('a');
    await clock.advance(30);
    queue.add('a'); // coalesced: the wait counts from the first add
    await clock.advance(20);
    queue.done((await queue.get())!);
    queue.addRateLimited('a');
    expect(waits).toEqual(['a:50']);
    expect(retries).toEqual(['a']);
  });

  it('shutdown releases waiting workers, drops queued keys and ignores new adds', async () => {
    const { queue } = makeQueue();
    const waiting = queue.get();
    await queue.shutdown();
    expect(await waiting).toBeUndefined();
    queue.add('a');
    queue.addAfter('b', 10);
    expect(queue.len()).toBe(0);
    expect(queue.delayed()).toBe(0);
    expect(await queue.get()).toBeUndefined();
  });

  it('shutdown with drain waits for keys in flight', async () => {
    const { queue } = makeQueue();
    queue.add('a');
    const key = (await queue.get())!;
    let drained = false;
    const done = queue.shutdown({ drain: true }).then(() => (drained = true));
    await Promise.resolve();
    expect(drained).toBe(false);
    queue.done(key);
    await done;
    expect(drained).toBe(true);
  });
});
