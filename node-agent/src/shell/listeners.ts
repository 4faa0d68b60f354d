/**
 * Where the agent's node-facing ports listen: in the network the node's traffic uses.
 * In production the agent runs in the host's namespace and listens there itself. An
 * agent started with `--netns` (tests, the sandbox) stays in its own namespace but its
 * node is the other one, so a small helper process started with `ip netns exec` listens
 * there and hands every accepted connection to the agent over Node's IPC channel (the
 * socket itself passes, as file descriptor; the helper reads no byte of it). The agent
 * serves HTTP on those sockets exactly as on its own, and the helper exits with the
 * channel: when the agent stops or dies, the ports close.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer, type Socket } from 'node:net';
import type { Logger } from '@natplan/controller-kit';
import { withTarget, type ExecTarget } from '../exec/index.js';

/** An open port; close() stops listening and ends the connections it accepted (keep-alive ones too). */
export interface Listening { close(): Promise<void> }

/** Opens a TCP port; each accepted connection goes to `onConnection`. Rejects if the port is unavailable. */
export type Listen = (host: string, port: number, onConnection: (socket: Socket) => void) => Promise<Listening>;

export interface Listeners {
  listen: Listen;
  /** Closes every port and, for a namespace, ends the helper. */
  stop(): Promise<void>;
}

/** Listeners of the given target: the agent's own namespace for 'host', else a helper in the namespace. */
export function listenersFor(target: ExecTarget, logger: Logger): Listeners {
  return target === 'host' ? ownNamespace() : namespaceHelper(target, logger);
}

/** Hands connections on and remembers them until they close, so they can be ended with their port. */
function tracked(onConnection: (socket: Socket) => void) {
  const sockets = new Set<Socket>();
  return {
    accept(socket: Socket) {
      sockets.add(socket);
      socket.once('close', () => sockets.delete(socket));
      onConnection(socket);
    },
    endAll() {
      for (const socket of sockets) socket.destroy();
    },
  };
}

function ownNamespace(): Listeners {
  const open = new Set<Listening>();
  return {
    listen: (host, port, onConnection) => new Promise((resolve, reject) => {
      const connections = tracked(onConnection);
      const server = createServer((socket) => connections.accept(socket));
      server.once('error', reject);
      server.listen(port, host, () => {
        const listening: Listening = {
          close: () => new Promise((done) => {
            open.delete(listening);
            server.close(() => done());
            connections.endAll();
          }),
        };
        open.add(listening);
        resolve(listening);
      });
    }),
    stop: async () => { await Promise.all([...open].map((l) => l.close())); },
  };
}

/**
 * The helper, run as `node -e` so it needs no file next to the agent (source, dist and
 * tests alike). pauseOnConnect keeps it from reading: all bytes reach the agent.
 */
const HELPER = `
const net = require('node:net');
const servers = new Map();
process.on('message', (m) => {
  if (m.op === 'listen') {
    const server = net.createServer({ pauseOnConnect: true }, (socket) => process.send({ op: 'connection', id: m.id }, socket));
    server.once('error', (err) => process.send({ op: 'failed', id: m.id, message: err.message }));
    server.listen(m.port, m.host, () => { servers.set(m.id, server); process.send({ op: 'listening', id: m.id }); });
  } else if (m.op === 'close') {
    const server = servers.get(m.id);
    servers.delete(m.id);
    if (server) server.close(() => process.send({ op: 'closed', id: m.id }));
    else process.send({ op: 'closed', id: m.id });
  }
});
process.on('disconnect', () => process.exit(0));
process.send({ op: 'ready' });
`;

type HelperMessage = { op: 'ready' } | { op: 'listening' | 'connection' | 'closed'; id: number } | { op: 'failed'; id: number; message: string };

/** Wait before a helper that died is started again, so a namespace that is gone costs no busy loop. */
const RESTART_DELAY_MS = 1000;

function namespaceHelper(target: Exclude<ExecTarget, 'host'>, logger: Logger): Listeners {
  let helper: Promise<ChildProcess> | undefined;
  let stopped = false;
  let nextId = 0;
  const pending = new Map<number, { resolve: () => void; reject: (err: Error) => void }>();
  /** The open ports, by request id: a restarted helper opens them again. */
  const open = new Map<number, { host: string; port: number; accept: (socket: Socket) => void }>();

  function start(): Promise<ChildProcess> {
    const started = new Promise<ChildProcess>((resolve, reject) => {
      const [file, ...args] = withTarget(target, [process.execPath, '-e', HELPER]);
      const child = spawn(file!, args, { stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
      // Also a send on a channel that just closed: the exit handler below deals with it.
      child.on('error', reject);
      child.once('exit', (code, signal) => {
        reject(new Error(`listener helper in ${target.netns} exited (${signal ?? code})`));
        for (const p of pending.values()) p.reject(new Error(`listener helper in ${target.netns} exited`));
        pending.clear();
        if (stopped || helper !== started) return;
        helper = undefined;
        logger.error('listener helper exited; restarting it', { netns: target.netns, code, signal });
        setTimeout(() => void reopen(), RESTART_DELAY_MS).unref();
      });
      child.on('message', (m: HelperMessage, handle?: Socket) => {
        if (m.op === 'ready') resolve(child);
        else if (m.op === 'connection' && handle) (open.get(m.id)?.accept ?? ((s: Socket) => s.destroy()))(handle);
        else if (m.op === 'listening' || m.op === 'closed') pending.get(m.id)?.resolve();
        else if (m.op === 'failed') pending.get(m.id)?.reject(new Error(`listen in ${target.netns}: ${m.message}`));
        if (m.op !== 'ready' && m.op !== 'connection') pending.delete(m.id);
      });
    });
    return started;
  }

  /** Sends one request about port `id` and waits for its answer (listening/closed, or failed). */
  async function ask(id: number, message: object): Promise<void> {
    if (stopped) throw new Error(`listeners in ${target.netns} are stopped`);
    const child = await (helper ??= start());
    await new Promise<void>((resolve, reject) => {
      pending.set(id, { resolve, reject });
      child.send({ ...message, id });
    });
  }

  async function reopen(): Promise<void> {
    for (const [id, { host, port }] of open) {
      await ask(id, { op: 'listen', host, port }).catch((err: unknown) => logger.error('port not reopened', { netns: target.netns, host, port, err }));
    }
  }

  return {
    async listen(host, port, onConnection) {
      const id = ++nextId;
      const accepted = tracked(onConnection);
      open.set(id, { host, port, accept: (socket) => accepted.accept(socket) });
      try {
        await ask(id, { op: 'listen', host, port });
      } catch (err) {
        open.delete(id);
        throw err;
      }
      return {
        close: async () => {
          if (!open.delete(id)) return;
          await ask(id, { op: 'close' }).catch(() => undefined);
          accepted.endAll();
        },
      };
    },
    async stop() {
      stopped = true;
      const child = await helper?.catch(() => undefined);
      helper = undefined;
      open.clear();
      if (!child || child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.disconnect();
      await exited;
    },
  };
}
