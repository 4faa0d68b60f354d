/**
 * Datagrams from inside a network namespace. The agent in tests and the sandbox programs
 * a node namespace it does not live in (`--netns`), and Node cannot enter a namespace
 * itself; the gateway must see the request come from the node's address, so a small
 * relay process runs there (`ip netns exec`) and carries datagrams over its stdin and
 * stdout, one base64 line each. In production the agent shares the node's network
 * (hostNetwork) and udp.ts connects directly.
 */
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { withTarget, type ExecTarget } from '../exec/index.js';
import type { Datagrams } from './exchange.js';
import { GATEWAY_PORT, connectGateway } from './udp.js';

/** The relay: connects a UDP socket, prints its address, then copies datagrams both ways. */
const RELAY = `
import { createSocket } from 'node:dgram';
import { createInterface } from 'node:readline';
const [gateway, port] = process.argv.slice(-2);
const socket = createSocket(gateway.includes(':') ? 'udp6' : 'udp4');
socket.on('error', () => {});
socket.connect(Number(port), gateway, () => {
  process.stdout.write(JSON.stringify({ local: socket.address().address }) + '\\n');
  socket.on('message', (m) => process.stdout.write(m.toString('base64') + '\\n'));
  createInterface({ input: process.stdin }).on('line', (line) => { if (line) socket.send(Buffer.from(line, 'base64')); }).on('close', () => process.exit(0));
});
`;

/** A UDP socket toward `gateway`, in the agent's own network or inside `target`'s namespace. */
export async function gatewayDatagrams(target: ExecTarget, gateway: string, port = GATEWAY_PORT): Promise<Datagrams> {
  if (target === 'host') return connectGateway(gateway, port);
  const [file, ...args] = withTarget(target, [process.execPath, '--input-type=module', '-e', RELAY, gateway, String(port)]);
  const child = spawn(file!, args, { stdio: ['pipe', 'pipe', 'ignore'] });
  child.stdin.on('error', () => {});
  const lines = createInterface({ input: child.stdout });
  const listeners = new Set<(datagram: Uint8Array) => void>();
  const local = await new Promise<string>((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (code) => reject(new Error(`gateway relay in ${JSON.stringify(target)} exited (${code})`)));
    lines.once('line', (first) => {
      try {
        resolve((JSON.parse(first) as { local: string }).local);
      } catch (error) {
        reject(error instanceof Error ? error : new Error(String(error)));
      }
    });
  });
  lines.on('line', (line) => {
    const datagram = new Uint8Array(Buffer.from(line, 'base64'));
    for (const listener of [...listeners]) listener(datagram);
  });
  return {
    localAddress: () => local,
    send: (message) => { child.stdin.write(`${Buffer.from(message).toString('base64')}\n`); },
    onMessage: (listener) => {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    close: () => {
      lines.close();
      child.stdin.end();
      child.kill();
    },
  };
}
