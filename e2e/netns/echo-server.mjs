// Echo server for dataplane tests, run inside a pod namespace with `ip netns exec`.
// Plain JavaScript so it starts in ~50 ms without a TypeScript loader; globals are
// imported explicitly because the lint config has no Node globals for .mjs files.
//
//   node echo-server.mjs --name pod-a1 --tcp 8080,8443 --udp 5353
//
// TCP: on accept it sends "hello <name> <client address> <client port>\n", then answers
// every line L with "<name> L\n". UDP: every datagram P gets "<name> <address> <port> P".
// So a test sees which endpoint answered and which client address the endpoint saw.
import { createSocket } from 'node:dgram';
import { createServer } from 'node:net';
import process from 'node:process';

const args = parseArgs(process.argv.slice(2));
const name = args.name ?? 'echo';
let pending = 0;

for (const port of list(args.tcp)) {
  pending += 1;
  const server = createServer((socket) => {
    socket.on('error', () => socket.destroy());
    socket.write(`hello ${name} ${plain(socket.remoteAddress)} ${socket.remotePort}\n`);
    let buffered = '';
    socket.on('data', (chunk) => {
      buffered += chunk.toString('utf8');
      let newline;
      while ((newline = buffered.indexOf('\n')) >= 0) {
        socket.write(`${name} ${buffered.slice(0, newline)}\n`);
        buffered = buffered.slice(newline + 1);
      }
    });
  });
  server.listen({ port, host: '::', ipv6Only: false }, ready);
}

for (const port of list(args.udp)) {
  pending += 1;
  const socket = createSocket({ type: 'udp6', ipv6Only: false });
  socket.on('message', (message, peer) => {
    socket.send(`${name} ${plain(peer.address)} ${peer.port} ${message.toString('utf8')}`, peer.port, peer.address);
  });
  socket.bind({ port, address: '::' }, ready);
}

if (pending === 0) ready();

function ready() {
  pending -= 1;
  if (pending <= 0) process.stdout.write(`ready ${name}\n`);
}

/** "::ffff:10.0.0.1" (an IPv4 client on a dual-stack socket) -> "10.0.0.1". */
function plain(address) {
  return address?.startsWith('::ffff:') ? address.slice(7) : address;
}

function list(value) {
  return value ? value.split(',').map(Number) : [];
}

function parseArgs(argv) {
  const out = {};
  for (let i = 0; i < argv.length; i += 2) out[argv[i].replace(/^--/, '')] = argv[i + 1];
  return out;
}
