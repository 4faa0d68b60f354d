// A TCP forwarder between a listening and a connecting endpoint, each "host:port" or a
// unix socket path. The node's network namespace reaches the API server on host loopback
// through two of these: namespace port -> unix socket -> host loopback port.
//   node forward.mjs <listen> <connect>
// Plain JavaScript (no TypeScript loader to start); Node globals imported for the lint config.
import { createConnection, createServer } from 'node:net';
import { rmSync } from 'node:fs';
import process from 'node:process';
import { setInterval } from 'node:timers';
import { log } from 'node:console';

const [listen, connect] = process.argv.slice(2);
const endpoint = (spec) => {
  const match = /^(.*):(\d+)$/.exec(spec);
  return match ? { host: match[1], port: Number(match[2]) } : { path: spec };
};
const server = createServer((socket) => {
  const upstream = createConnection(endpoint(connect));
  socket.pipe(upstream).pipe(socket);
  const close = () => { socket.destroy(); upstream.destroy(); };
  socket.on('error', close);
  upstream.on('error', close);
});
const target = endpoint(listen);
if (target.path) rmSync(target.path, { force: true });
server.listen(target, () => log(`forwarding ${listen} -> ${connect}`));
process.on('SIGTERM', () => process.exit(0));
// A test process killed outright cannot stop its children: exit once it is gone (reparented).
const parent = process.ppid;
setInterval(() => { if (process.ppid !== parent) process.exit(0); }, 500).unref();
