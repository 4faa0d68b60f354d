import { describe, expect, it } from 'vitest';
import { ExecError, FakeExec } from '../exec/index.js';
import type { Exec, RunOptions } from '../exec/index.js';
import { StaleUdpCleaner } from './conntrack.js';
import { NftApplier } from './nft-applier.js';
import { recordConntrackBatches, toyNftPort } from './toy-port.test-support.js';

/**
 * An exec whose conntrack hangs until the test says its timeout passed (`timeOut`), then
 * fails the way the real exec reports a killed child; everything else goes to a FakeExec.
 * No timer of its own: whether a sync waited for it cannot depend on how busy the machine is.
 */
function hangingConntrack() {
  const fake = new FakeExec();
  const hung: { timeoutMs: number | undefined; settled: boolean }[] = [];
  const pending: Array<() => void> = [];
  const exec: Exec = {
    target: fake.target,
    run: (argv, options: RunOptions = {}) => {
      if (argv[0] !== 'conntrack') return fake.run(argv, options);
      const entry = { timeoutMs: options.timeoutMs, settled: false };
      hung.push(entry);
      return new Promise((_resolve, reject) => pending.push(() => {
        entry.settled = true;
        reject(new ExecError('other', argv, `timed out after ${options.timeoutMs} ms`, null));
      }));
    },
  };
  /** Lets every hung command (and each one that starts meanwhile) time out. */
  const timeOut = async (idle: () => Promise<void>) => {
    let done = false;
    const finished = idle().then(() => { done = true; });
    while (!done) {
      for (const fail of pending.splice(0)) fail();
      await new Promise((resolve) => setImmediate(resolve));
    }
    await finished;
  };
  return { fake, exec, hung, timeOut };
}

/** `conntrack -L -p udp` lines: a client's flow to a frontend, NATed to an endpoint. */
const entry = (client: string, sport: number, frontend: string, endpoint: string) => {
  const [fa, fp] = frontend.split(':');
  const [ea, ep] = endpoint.split(':');
  return `udp      17 29 src=${client} dst=${fa} sport=${sport} dport=${fp} src=${ea} dst=${client} sport=${ep} dport=${sport} mark=0 use=1`;
};
const LISTING = [
  entry('10.244.1.9', 40001, '10.96.0.53:53', '10.244.2.5:5353'),
  entry('10.244.1.9', 40002, '10.96.0.53:53', '10.244.2.6:5353'),
  entry('10.244.1.9', 40003, '10.96.0.16:53', '10.244.2.6:5353'),
  entry('10.244.1.7', 40004, '10.96.0.99:53', '10.244.2.8:5353'),
  'conntrack v1.4.7 (conntrack-tools): 4 flow entries have been shown.',
].join('\n');

describe('StaleUdpCleaner', () => {
  it('lists the UDP entries once and deletes only those of stale endpoints, paths and frontends, in batches', async () => {
    const fake = new FakeExec().on('conntrack -L -f ipv4 -p udp', { stdout: LISTING });
    const { exec, batches } = recordConntrackBatches(fake);
    const cleaner = new StaleUdpCleaner(exec, { batchSize: 2 });
    const outcome = await cleaner.clear([
      { address: '10.244.2.5', port: 5353 }, // endpoint gone: its flow 40001
      { address: '10.244.2.6', port: 5353, frontend: { address: '10.96.0.16', port: 53 } }, // left one Service only: 40003
      { address: '10.96.0.99', port: 53, match: 'original-destination' }, // frontend that had no endpoints: 40004
      { address: '10.244.9.9', port: 5353 }, // no flows at all: nothing to do
    ]);
    expect(outcome).toEqual({ finished: true, errors: [] });
    expect(fake.calls.map((c) => c.command.replace(/ \/\S+$/, ' FILE'))).toEqual(['conntrack -L -f ipv4 -p udp', 'conntrack -R FILE', 'conntrack -R FILE']);
    expect(batches).toEqual([
      '-D -f ipv4 -p udp -s 10.244.1.9 -d 10.96.0.53 --sport 40001 --dport 53\n-D -f ipv4 -p udp -s 10.244.1.9 -d 10.96.0.16 --sport 40003 --dport 53\n',
      '-D -f ipv4 -p udp -s 10.244.1.7 -d 10.96.0.99 --sport 40004 --dport 53\n',
    ]);
  });

  it('costs one listing, not one process per stale endpoint, when no flow matches', async () => {
    const exec = new FakeExec().on('conntrack -L', { stdout: LISTING });
    const stale = Array.from({ length: 20_000 }, (_, n) => ({ address: `10.245.${n >> 8}.${n & 255}`, port: 5353 }));
    expect(await new StaleUdpCleaner(exec).clear(stale)).toEqual({ finished: true, errors: [] });
    expect(exec.calls.map((c) => c.command)).toEqual(['conntrack -L -f ipv4 -p udp']);
  });

  it('reports a failed batch and still runs the others', async () => {
    const exec = new FakeExec().on('conntrack -L', { stdout: LISTING }).on('conntrack -R', { fail: 'permission', stderr: 'Operation not permitted' }, 1);
    const outcome = await new StaleUdpCleaner(exec, { batchSize: 1 }).clear([{ address: '10.244.2.5', port: 5353 }, { address: '10.244.2.8', port: 5353 }]);
    expect(outcome.finished).toBe(true);
    expect(outcome.errors.map((e) => e.message)).toEqual([expect.stringContaining('permission')]);
    expect(exec.callsTo('conntrack -R')).toHaveLength(2);
  });
});

describe('a hanging conntrack', () => {
  it('is given a timeout, and neither the sync that queued it nor the next one waits for it', async () => {
    const { fake, exec, hung, timeOut } = hangingConntrack();
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
    await timeOut(() => applier.conntrackIdle());
    expect(hung.map((h) => h.settled)).toEqual([true, true]);
    expect(late.map((e) => e.message)).toEqual([expect.stringContaining('timed out'), expect.stringContaining('timed out')]);
  });
});
