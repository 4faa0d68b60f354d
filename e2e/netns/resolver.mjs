// A DNS-like UDP client for dataplane tests, run inside a pod namespace: it sends one
// query every interval until SIGTERM, and retries an unanswered query the way a stub
// resolver does (glibc: resend on the same socket after a timeout, a few attempts).
//
//   node resolver.mjs --host H --port P [--interval MS] [--timeout MS] [--attempts N] [--sport S]
//
// Without --sport each query has its own connected socket (a fresh source port, as glibc
// uses), so each query is a new conntrack flow. With --sport every query shares one socket
// on that port (a caching forwarder's upstream socket): one long-lived flow.
// stdout: "ready", then "ok <query> <server> <attempt>" per answered query, and after
// SIGTERM (outstanding queries finished) one JSON summary line.
import { createSocket } from 'node:dgram';
import process from 'node:process';
import { clearTimeout, setTimeout } from 'node:timers';
import { setTimeout as sleep } from 'node:timers/promises';

const args = parseArgs(process.argv.slice(2));
const host = args.host;
const port = Number(args.port);
const intervalMs = Number(args.interval ?? 20);
const timeoutMs = Number(args.timeout ?? 300);
const attempts = Number(args.attempts ?? 3);
const family = host.includes(':') ? 'udp6' : 'udp4';
const MAX_QUERIES = 20_000;

const summary = { queries: 0, answered: 0, unanswered: 0, retried: 0, attemptsLost: 0, byServer: {}, errors: {} };
let stopping = false;
process.on('SIGTERM', () => { stopping = true; });

const shared = args.sport === undefined ? undefined : await openSocket(Number(args.sport));
/** Reply handlers of the queries waiting on the shared socket, by query id. */
const waiting = new Map();
shared?.socket.on('message', (message) => dispatch(message));
process.stdout.write('ready\n');

const pending = [];
for (let id = 0; !stopping && id < MAX_QUERIES; id += 1) {
  pending.push(query(id));
  await sleep(intervalMs);
}
await Promise.all(pending);
shared?.socket.close();
process.stdout.write(`${JSON.stringify(summary)}\n`);
process.exit(0);

async function query(id) {
  summary.queries += 1;
  const own = shared ?? (await openSocket(0));
  const replies = [];
  let wake = () => {};
  const onReply = (text) => { replies.push(text); wake(); };
  if (shared) waiting.set(id, onReply);
  else own.socket.on('message', (message) => onReply(message.toString('utf8')));
  try {
    for (let attempt = 1; attempt <= attempts; attempt += 1) {
      const before = own.errors.length;
      own.socket.send(`q${id}`);
      let onError = () => {};
      const answered = await new Promise((resolve) => {
        const timer = setTimeout(() => resolve(false), timeoutMs);
        wake = () => { clearTimeout(timer); resolve(true); };
        onError = () => { clearTimeout(timer); resolve(false); };
        own.errorListeners.add(onError);
      });
      own.errorListeners.delete(onError);
      if (answered && replies.length > 0) {
        const server = replies[0].split(' ')[0];
        summary.answered += 1;
        summary.byServer[server] = (summary.byServer[server] ?? 0) + 1;
        if (attempt > 1) summary.retried += 1;
        process.stdout.write(`ok ${id} ${server} ${attempt}\n`);
        return;
      }
      summary.attemptsLost += 1;
      for (const code of own.errors.slice(before)) summary.errors[code] = (summary.errors[code] ?? 0) + 1;
      // An ICMP error arrives at once; wait out the attempt so retries stay paced.
      if (own.errors.length > before) await sleep(timeoutMs);
    }
    summary.unanswered += 1;
  } finally {
    waiting.delete(id);
    if (!shared) own.socket.close();
  }
}

/** A socket connected to the server (so ICMP errors are reported, as glibc's are). */
async function openSocket(sourcePort) {
  const socket = createSocket(family);
  const handle = { socket, errors: [], errorListeners: new Set() };
  socket.on('error', (error) => {
    handle.errors.push(error.code ?? error.message);
    for (const listener of handle.errorListeners) listener();
  });
  await new Promise((resolve) => socket.bind({ port: sourcePort }, resolve));
  await new Promise((resolve) => socket.connect(port, host, resolve));
  return handle;
}

/** Replies echo the query ("<server> <address> <port> q<id>"): route them to their query. */
function dispatch(message) {
  const text = message.toString('utf8');
  const id = Number(text.split(' ').at(-1)?.slice(1));
  waiting.get(id)?.(text);
}

function parseArgs(argv) {
  const out = {};
  for (let i = 0; i < argv.length; i += 2) out[argv[i].replace(/^--/, '')] = argv[i + 1];
  return out;
}
