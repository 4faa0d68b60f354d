// Traffic client for dataplane tests, run inside a client, node or pod namespace.
// Prints one JSON line on stdout. Every loop is bounded in count and in time.
//
//   node probe.mjs tcp  --host H --port P --count N [--bind A] [--timeout MS]
//       N sequential connections; each reads the server's hello line and closes.
//       -> {"results":[{"ok":true,"server":"pod-a1","seen":"203.0.113.10"} | {"ok":false,"error":"ECONNREFUSED"}]}
//   node probe.mjs udp  --host H --port P --count N [--bind A] [--sport S] [--gap MS] [--timeout MS] [--connect yes]
//       N datagrams from one socket (a fixed source port with --sport), one at a time.
//       With --connect the socket is connected, so an ICMP port unreachable answer is
//       reported as {"ok":false,"error":"ECONNREFUSED"} instead of a timeout.
//   node probe.mjs hold --host H --port P --connections K --interval MS --duration MS
//       Keeps K connections open, pings each every interval, and opens one new connection
//       per interval; prints "established" once all K are up, then a summary at the end.
//   node probe.mjs latency --host H --port P --count N [--timeout MS]
//       N sequential connects; the time from connect() to the handshake's completion.
import { createSocket } from 'node:dgram';
import { connect } from 'node:net';
import process from 'node:process';
import { setTimeout as sleep } from 'node:timers/promises';

const [mode, ...rest] = process.argv.slice(2);
const args = parseArgs(rest);
const host = args.host;
const port = Number(args.port);
const timeoutMs = Number(args.timeout ?? 2000);
const MAX_COUNT = 5000;
const count = Math.min(Number(args.count ?? 1), MAX_COUNT);

const modes = { tcp: tcpMode, udp: udpMode, hold: holdMode, latency: latencyMode };
if (!modes[mode]) {
  process.stderr.write(`unknown mode ${mode}\n`);
  process.exit(2);
}
const output = await modes[mode]();
process.stdout.write(`${JSON.stringify(output)}\n`);
process.exit(0);

async function tcpMode() {
  const results = [];
  for (let i = 0; i < count; i += 1) results.push(await tcpHello());
  return { results };
}

/** One connection: resolve with the hello line's server and the client address it saw. */
function tcpHello() {
  return new Promise((resolve) => {
    const socket = connect({ host, port, localAddress: args.bind, timeout: timeoutMs });
    let buffered = '';
    const done = (result) => {
      socket.destroy();
      resolve(result);
    };
    socket.on('data', (chunk) => {
      buffered += chunk.toString('utf8');
      const newline = buffered.indexOf('\n');
      if (newline < 0) return;
      const [, server, seen] = buffered.slice(0, newline).split(' ');
      done({ ok: true, server, seen });
    });
    socket.on('timeout', () => done({ ok: false, error: 'timeout' }));
    socket.on('error', (error) => done({ ok: false, error: error.code ?? error.message }));
    socket.on('close', () => done({ ok: false, error: 'closed' }));
  });
}

async function udpMode() {
  const family = host.includes(':') ? 'udp6' : 'udp4';
  const socket = createSocket(family);
  await new Promise((resolve) => socket.bind({ port: Number(args.sport ?? 0), address: args.bind }, resolve));
  const connected = args.connect === 'yes';
  if (connected) await new Promise((resolve) => socket.connect(port, host, resolve));
  const replies = [];
  let error;
  socket.on('message', (message) => replies.push(message.toString('utf8')));
  socket.on('error', (e) => { error = e.code ?? e.message; });
  const results = [];
  for (let i = 0; i < count; i += 1) {
    const before = replies.length;
    error = undefined;
    if (connected) socket.send(`seq${i}`);
    else socket.send(`seq${i}`, port, host);
    const deadline = Date.now() + timeoutMs;
    while (replies.length === before && error === undefined && Date.now() < deadline) await sleep(5);
    const reply = replies[before];
    if (reply === undefined) results.push({ ok: false, error: error ?? 'timeout' });
    else {
      const [server, seen] = reply.split(' ');
      results.push({ ok: true, server, seen });
    }
    if (args.gap) await sleep(Number(args.gap));
  }
  socket.close();
  return { results };
}

async function holdMode() {
  const connections = Math.min(Number(args.connections ?? 10), 200);
  const interval = Number(args.interval ?? 50);
  const durationMs = Math.min(Number(args.duration ?? 5000), 120_000);
  const held = await Promise.all(Array.from({ length: connections }, () => openHeld()));
  const broken = held.filter((h) => !h.ok).length;
  process.stdout.write(`established ${connections - broken}\n`);
  const summary = { connections, brokenAtStart: broken, pings: 0, pingFailures: 0, closedEarly: 0, newOk: 0, newFailed: 0, newErrors: {} };
  const end = Date.now() + durationMs;
  let round = 0;
  while (Date.now() < end) {
    round += 1;
    const newConnection = tcpHello();
    const pings = held.filter((h) => h.ok && !h.closed).map((h) => ping(h, `ping${round}`));
    for (const ok of await Promise.all(pings)) {
      summary.pings += 1;
      if (!ok) summary.pingFailures += 1;
    }
    const fresh = await newConnection;
    if (fresh.ok) summary.newOk += 1;
    else {
      summary.newFailed += 1;
      summary.newErrors[fresh.error] = (summary.newErrors[fresh.error] ?? 0) + 1;
    }
    await sleep(interval);
  }
  summary.closedEarly = held.filter((h) => h.closed).length;
  for (const h of held) h.socket?.destroy();
  return summary;
}

function openHeld() {
  return new Promise((resolve) => {
    const socket = connect({ host, port, localAddress: args.bind });
    const h = { ok: false, closed: false, socket, lines: [], waiters: [] };
    let buffered = '';
    socket.on('data', (chunk) => {
      buffered += chunk.toString('utf8');
      let newline;
      while ((newline = buffered.indexOf('\n')) >= 0) {
        const line = buffered.slice(0, newline);
        buffered = buffered.slice(newline + 1);
        if (!h.ok) {
          h.ok = true;
          resolve(h);
        } else h.waiters.shift()?.(line);
      }
    });
    socket.on('error', () => {});
    socket.on('close', () => {
      h.closed = true;
      for (const waiter of h.waiters.splice(0)) waiter(null);
      resolve(h);
    });
  });
}

/** Sends a line on a held connection and waits for the echo (bounded by the timeout). */
function ping(h, text) {
  return new Promise((resolve) => {
    const timer = setTimeoutOnce(() => resolve(false), timeoutMs);
    h.waiters.push((line) => {
      clearTimer(timer);
      resolve(line !== null && line.endsWith(text));
    });
    h.socket.write(`${text}\n`);
  });
}

async function latencyMode() {
  const samples = [];
  let failures = 0;
  for (let i = 0; i < count; i += 1) {
    const started = process.hrtime.bigint();
    const ok = await new Promise((resolve) => {
      const socket = connect({ host, port, timeout: timeoutMs });
      socket.on('connect', () => {
        samples.push(Number(process.hrtime.bigint() - started) / 1e6);
        socket.destroy();
        resolve(true);
      });
      socket.on('timeout', () => { socket.destroy(); resolve(false); });
      socket.on('error', () => resolve(false));
    });
    if (!ok) failures += 1;
  }
  return { samples, failures };
}

function setTimeoutOnce(fn, ms) {
  const state = { done: false };
  sleep(ms).then(() => { if (!state.done) fn(); });
  return state;
}

function clearTimer(state) {
  state.done = true;
}

function parseArgs(argv) {
  const out = {};
  for (let i = 0; i < argv.length; i += 2) out[argv[i].replace(/^--/, '')] = argv[i + 1];
  return out;
}
