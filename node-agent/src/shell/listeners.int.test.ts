/**
 * Ports opened in another network namespace by the listener helper, checked from inside
 * that namespace: bytes reach the agent intact, a busy port is refused, a helper that dies
 * is replaced with its ports, and stop() leaves nothing behind. Only test namespaces.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import type { Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger } from '@natplan/controller-kit';
import { waitFor } from '@natplan/e2e/control-plane';
import { Topology, type Host } from '@natplan/e2e/netns';
import { listenersFor, type Listeners } from './listeners.js';

let topo: Topology;
let host: Host;
let listeners: Listeners;

/** Sends `size` bytes to 127.0.0.1:port inside the namespace; resolves with how many identical bytes came back (-1: refused). */
async function echoed(port: number, size: number): Promise<number> {
  const script = `const net = require('node:net'); const sent = Buffer.alloc(${size}, 'natplan');
    const s = net.connect(${port}, '127.0.0.1'); const got = [];
    s.on('error', () => { console.log(-1); process.exit(0); });
    s.on('data', (d) => { got.push(d); if (Buffer.concat(got).length >= sent.length) { const all = Buffer.concat(got); console.log(all.equals(sent) ? all.length : 0); s.destroy(); } });
    s.write(sent);`;
  return Number((await host.run([process.execPath, '-e', script], { timeoutMs: 10_000 })).stdout.trim());
}

const echo = (socket: Socket) => socket.pipe(socket);

/** Pids of listener helpers in the test's namespace (their command line carries the script). */
function helpers(): string[] {
  const pids = execFileSync('ip', ['netns', 'pids', host.namespace], { encoding: 'utf8' }).split('\n').filter(Boolean);
  return pids.filter((pid) => {
    try {
      return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('pauseOnConnect');
    } catch {
      return false; // exited meanwhile
    }
  });
}

beforeAll(async () => {
  topo = await Topology.create();
  host = await topo.addHost('node-a');
  await host.ip('link', 'set', 'lo', 'up');
  listeners = listenersFor({ netns: host.namespace }, silentLogger);
});

afterAll(async () => {
  await listeners?.stop();
  await topo?.destroy();
});

describe('listeners in a network namespace', () => {
  it('hands accepted connections to this process with every byte', async () => {
    const port = await listeners.listen('127.0.0.1', 18080, echo);
    expect(await echoed(18080, 256 * 1024)).toBe(256 * 1024);
    await port.close();
    expect(await echoed(18080, 1)).toBe(-1);
  });

  it('refuses a port already taken in the namespace', async () => {
    const first = await listeners.listen('0.0.0.0', 18081, echo);
    await expect(listeners.listen('0.0.0.0', 18081, echo)).rejects.toThrow(/EADDRINUSE|in use/);
    expect(await echoed(18081, 10)).toBe(10);
    await first.close();
  });

  it('a helper that dies is replaced and its ports open again', async () => {
    await listeners.listen('127.0.0.1', 18082, echo);
    const [pid, ...others] = helpers();
    expect(others).toEqual([]);
    expect(pid).toBeDefined();
    await host.run(['kill', '-9', pid!]);
    await waitFor('the port answers through a new helper', async () => (await echoed(18082, 10)) === 10 || undefined, 15_000, 200);
    expect(helpers()).toHaveLength(1);
    expect(helpers()).not.toContain(pid);
  });

  it('stop() closes every port and ends the helper', async () => {
    await listeners.stop();
    expect(await echoed(18082, 1)).toBe(-1);
    expect(helpers()).toEqual([]);
  });
});
