/** The thin I/O shell: a real UDP socket and timers behind the Datagrams and Clock seams. */
import { randomBytes } from 'node:crypto';
import { createSocket } from 'node:dgram';
import { PortMappingClient } from './client.js';
import type { PortMappingClientOptions } from './client.js';
import type { Clock, Datagrams } from './exchange.js';

/** PCP and NAT-PMP servers listen on 5351 (RFC 6887 section 19.1, RFC 6886 section 3). */
export const GATEWAY_PORT = 5351;

export const systemClock: Clock = {
  now: () => Date.now(),
  setTimer: (ms, fn) => {
    const timer = setTimeout(fn, ms);
    return () => clearTimeout(timer);
  },
};

/** A UDP socket connected to the gateway, so the kernel picks our source address and drops strangers' datagrams. */
export async function connectGateway(gateway: string, port = GATEWAY_PORT): Promise<Datagrams> {
  const socket = createSocket(gateway.includes(':') ? 'udp6' : 'udp4');
  await new Promise<void>((resolve, reject) => {
    socket.once('error', reject);
    socket.connect(port, gateway, () => { socket.off('error', reject); resolve(); });
  });
  const listeners = new Set<(datagram: Uint8Array) => void>();
  socket.on('message', (message: Buffer) => {
    for (const listener of [...listeners]) listener(new Uint8Array(message));
  });
  // An ICMP port unreachable arrives as an error on a connected socket; the exchange's
  // retransmission and timeout already cover "nobody answers", so it is not fatal.
  socket.on('error', () => {});
  return {
    localAddress: () => socket.address().address,
    send: (message) => socket.send(message),
    onMessage: (listener) => {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    close: () => socket.close(),
  };
}

/** A client talking to `gateway` over a real socket. */
export async function createGatewayClient(
  gateway: string, options: Partial<Omit<PortMappingClientOptions, 'datagrams'>> = {},
): Promise<{ client: PortMappingClient; datagrams: Datagrams }> {
  const datagrams = await connectGateway(gateway);
  const client = new PortMappingClient({
    clock: systemClock,
    randomNonce: () => new Uint8Array(randomBytes(12)),
    ...options,
    datagrams,
  });
  return { client, datagrams };
}
