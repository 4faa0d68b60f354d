// TCP connect client for bench/vs-kube-proxy.ts, run inside a node namespace.
// Plain JavaScript so it starts without a TypeScript loader; globals imported for the lint config.
//
//   node netns-connect.mjs until --host H --port P --deadline MS
//       Connects every 50 ms (200 ms timeout each) until one handshake completes, then
//       prints "ok <epoch ms>"; prints "timeout" after MS.
//   node netns-connect.mjs latency --hosts H1,H2,... --port P --count N
//       N sequential connects cycling over the hosts; prints {"samples":[ms...],"failures":F}
//       with the time from connect() to the handshake's completion.
import { connect } from 'node:net';
import process from 'node:process';
import { setTimeout as sleep } from 'node:timers/promises';

const [mode, ...rest] = process.argv.slice(2);
const args = {};
for (let i = 0; i < rest.length; i += 2) args[rest[i].replace(/^--/, '')] = rest[i + 1];
const port = Number(args.port);

function handshake(host, timeoutMs) {
  return new Promise((resolve) => {
    const started = process.hrtime.bigint();
    const socket = connect({ host, port, timeout: timeoutMs });
    const done = (ok) => { socket.destroy(); resolve(ok ? Number(process.hrtime.bigint() - started) / 1e6 : undefined); };
    socket.once('connect', () => done(true));
    socket.once('timeout', () => done(false));
    socket.once('error', () => done(false));
  });
}

if (mode === 'until') {
  const deadline = Date.now() + Number(args.deadline);
  let line = 'timeout';
  while (Date.now() < deadline) {
    if ((await handshake(args.host, 200)) !== undefined) { line = `ok ${Date.now()}`; break; }
    await sleep(50);
  }
  process.stdout.write(`${line}\n`);
} else if (mode === 'latency') {
  const hosts = args.hosts.split(',');
  const samples = [];
  let failures = 0;
  for (let i = 0; i < Number(args.count); i += 1) {
    const ms = await handshake(hosts[i % hosts.length], 1000);
    if (ms === undefined) failures += 1;
    else samples.push(ms);
  }
  process.stdout.write(`${JSON.stringify({ samples, failures })}\n`);
} else {
  process.stderr.write(`unknown mode ${mode}\n`);
  process.exit(2);
}
process.exit(0);
