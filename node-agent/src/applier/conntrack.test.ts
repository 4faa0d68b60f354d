import { describe, expect, it } from 'vitest';
import { ExecError, FakeExec } from '../exec/index.js';
import type { Exec, RunOptions } from '../exec/index.js';
import { StaleUdpCleaner } from './conntrack.js';
import { NftApplier } from './nft-applier.js';
import { toyNftPort } from './toy-port.test-support.js';

/**
 * An exec whose conntrack hangs until its timeout, then fails the way the real exec
 * reports a killed child; everything else goes to a FakeExec.
 */
function hangingConntrack() {
  const fake = new FakeExec();
  const hung: { timeoutMs: number | undefined; settled: boolean }[] = [];
  const exec: Exec = {
    target: fake.target,
    run: (argv, options: RunOptions = {}) => {
      if (argv[0] !== 'conntrack') return fake.run(argv, options);
      const entry = { timeoutMs: options.timeoutMs, settled: false };
      hung.push(entry);
      return new Promise((_resolve, reject) => setTimeout(() => {
        entry.settled = true;
        reject(new ExecError('other', argv, `timed out after ${options.timeoutMs} ms`, null));
      }, options.timeoutMs ?? 60_000));
    },
  };
  return { fake, exec, hung };
}

describe('StaleUdpCleaner', () => {
  it('deletes flows in batches, one conntrack process per batch', async () => {
    const exec = new FakeExec();
    const cleaner = new StaleUdpCleaner(exec, { batchSize: 2 });
    const flows = [1, 2, 3, 4, 5].map((n) => ({ address: `10.244.1.${n}`, port: 53 }));
    expect(await cleaner.clear(flows)).toEqual({ finished: true, errors: [] });
    expect(exec.calls.map((c) => c.command)).toEqual(['conntrack -R -', 'conntrack -R -', 'conntrack -R -']);
    expect(exec.calls.map((c) => c.stdin.split('\n').filter(Boolean).length)).toEqual([2, 2, 1]);
    expect(exec.calls[2]?.stdin).toBe('-D -f ipv4 -p udp --reply-src 10.244.1.5 --reply-port-src 53\n');
  });

  it('reports a failed batch and still runs the others', async () => {
    const exec = new FakeExec().on('conntrack', { fail: 'permission', stderr: 'Operation not permitted' }, 1);
    const outcome = await new StaleUdpCleaner(exec, { batchSize: 1 }).clear([{ address: '10.244.1.5', port: 53 }, { address: '10.244.1.6', port: 53 }]);
    expect(outcome.finished).toBe(true);
    expect(outcome.errors.map((e) => e.message)).toEqual([expect.stringContaining('permission')]);
    expect(exec.callsTo('conntrack')).toHaveLength(2);
  });
});

describe('a hanging conntrack', () => {
  it('is given a timeout, and neither the sync that queued it nor the next one waits for it', async () => {
    const { fake, exec, hung } = hangingConntrack();
    const late: Error[] = [];
    const applier = new NftApplier(exec, toyNftPort, { conntrack: { waitMs: 20, commandTimeoutMs: 300, onLateErrors: (e) => late.push(...e) } });
    await applier.apply(['udp:10.244.1.5:53', 'udp:10.244.1.6:53']);
    const first = await applier.apply(['udp:10.244.1.6:53']);
    expect(first).toMatchObject({ ok: true, mode: 'incremental', staleUdpFinished: false });
    expect(hung).toEqual([{ timeoutMs: 300, settled: false }]);
    // The next sync commits while the first cleanup still hangs; its own cleanup queues behind.
    const second = await applier.apply([]);
    expect(second).toMatchObject({ ok: true, mode: 'incremental', staleUdpFinished: false });
    expect(hung[0]?.settled).toBe(false);
    expect(fake.callsTo('nft -f -')).toHaveLength(3);
    // Once timed out (the real exec kills and reaps the child), the queue moves on.
    await applier.conntrackIdle();
    expect(hung.map((h) => h.settled)).toEqual([true, true]);
    expect(late.map((e) => e.message)).toEqual([expect.stringContaining('timed out'), expect.stringContaining('timed out')]);
  });
});
