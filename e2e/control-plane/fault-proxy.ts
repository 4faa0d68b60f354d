/**
 * A TCP proxy on loopback that sits between API clients and the real API server and
 * breaks their connections on command, the way an overloaded API server or a network
 * does: resets after some bytes of the answers, FINs in the middle of a stream, refuses
 * or swallows new connections, delays. TLS passes through untouched (the serving
 * certificate covers 127.0.0.1), so clients see exactly what such faults look like.
 *
 * Faults apply until `heal()`; connections opened while one is set get it, and
 * `resetAll()`/`endAll()` act on every open connection at once.
 */
import { createConnection, createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { PlainClusterAccess, type ApiTimeouts } from '@natplan/controller-kit';
import type { Certificates } from './certs.js';

export type Fault =
  /** Forward everything. */
  | { kind: 'none' }
  /** Reset each connection after it has carried `bytes` bytes from the server to the client. */
  | { kind: 'resetAfter'; bytes: number }
  /** Close each connection with a FIN (a clean TCP end, mid-response) after `bytes` bytes to the client. */
  | { kind: 'endAfter'; bytes: number }
  /** Reset new connections as soon as they are accepted. */
  | { kind: 'refuse' }
  /** Accept new connections and forward nothing: requests get no answer, not even headers. */
  | { kind: 'blackhole' }
  /** Hold every chunk, both ways, this long. */
  | { kind: 'delay'; ms: number };

interface Link {
  client: Socket;
  upstream: Socket | undefined;
  toClient: number;
  fault: Fault;
  /** Chunks held by a delay, per direction, sent in order (a later chunk never overtakes one). */
  held: { toClient: Buffer[]; toServer: Buffer[] };
}

export interface FaultProxyStats {
  connections: number;
  resets: number;
  ends: number;
  refused: number;
  /** Connections accepted into a blackhole. */
  swallowed: number;
}

export class FaultProxy {
  private readonly server: Server;
  private readonly links = new Set<Link>();
  private fault: Fault = { kind: 'none' };
  readonly stats: FaultProxyStats = { connections: 0, resets: 0, ends: 0, refused: 0, swallowed: 0 };

  private constructor(private readonly target: { host: string; port: number }) {
    this.server = createServer((client) => this.accept(client));
  }

  /** A proxy to `target` (an https:// or http:// URL, e.g. the control plane's `server`). */
  static async start(target: string): Promise<FaultProxy> {
    const url = new URL(target);
    const proxy = new FaultProxy({ host: url.hostname, port: Number(url.port) });
    await new Promise<void>((resolve) => proxy.server.listen(0, '127.0.0.1', resolve));
    return proxy;
  }

  /**
   * The control plane's admin credentials with this proxy as the server: what a fault test
   * hands the component it tests. `apiTimeouts` shortens how long it waits on a swallowed
   * connection (30 s in production), so a test's blackhole costs seconds.
   */
  adminAccess(certificates: Certificates, apiTimeouts?: ApiTimeouts): PlainClusterAccess {
    const c = certificates;
    return new PlainClusterAccess({ server: this.url(), ca: { file: c.caCert }, clientCert: { file: c.adminCert }, clientKey: { file: c.adminKey } }, apiTimeouts);
  }

  /** The proxy's URL for a client, with `scheme` as the target's. */
  url(scheme: 'https' | 'http' = 'https'): string {
    return `${scheme}://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  /** Sets the fault for connections opened from now on (and the byte-count faults of open ones). */
  inject(fault: Fault): void {
    this.fault = fault;
    if (fault.kind === 'resetAfter' || fault.kind === 'endAfter') for (const link of this.links) link.fault = { ...fault, bytes: link.toClient + fault.bytes };
  }

  heal(): void {
    this.inject({ kind: 'none' });
    for (const link of this.links) link.fault = { kind: 'none' };
  }

  /** Resets every open connection (RST to both sides). */
  resetAll(): void {
    for (const link of [...this.links]) this.cut(link, 'reset');
  }

  /** Ends every open connection with a FIN to the client, mid-answer or mid-stream as it may be. */
  endAll(): void {
    for (const link of [...this.links]) this.cut(link, 'end');
  }

  get open(): number {
    return this.links.size;
  }

  async stop(): Promise<void> {
    this.resetAll();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private accept(client: Socket): void {
    this.stats.connections++;
    client.on('error', () => undefined); // resets are the point here; the client side sees them
    const fault = this.fault;
    if (fault.kind === 'refuse') {
      this.stats.refused++;
      client.resetAndDestroy();
      return;
    }
    const link: Link = { client, upstream: undefined, toClient: 0, fault, held: { toClient: [], toServer: [] } };
    this.links.add(link);
    client.on('close', () => this.drop(link));
    if (fault.kind === 'blackhole') {
      this.stats.swallowed++;
      return;
    }
    const upstream = createConnection(this.target);
    link.upstream = upstream;
    upstream.on('error', () => this.cut(link, 'reset'));
    upstream.on('close', () => this.drop(link));
    client.on('data', (chunk: Buffer) => this.forward(link, chunk, upstream, false));
    upstream.on('data', (chunk: Buffer) => this.forward(link, chunk, client, true));
    client.on('end', () => upstream.end());
    upstream.on('end', () => client.end());
  }

  private forward(link: Link, chunk: Buffer, to: Socket, toClient: boolean): void {
    const held = toClient ? link.held.toClient : link.held.toServer;
    if (link.fault.kind === 'delay' || held.length > 0) {
      held.push(chunk);
      const ms = link.fault.kind === 'delay' ? link.fault.ms : 0;
      setTimeout(() => { const next = held.shift(); if (next) this.send(link, next, to, toClient); }, ms);
      return;
    }
    this.send(link, chunk, to, toClient);
  }

  private send(link: Link, chunk: Buffer, to: Socket, toClient: boolean): void {
    if (!this.links.has(link)) return;
    const { fault } = link;
    if (toClient && (fault.kind === 'resetAfter' || fault.kind === 'endAfter')) {
      const room = fault.bytes - link.toClient;
      if (room < chunk.length) {
        if (room > 0) to.write(chunk.subarray(0, room));
        link.toClient += Math.max(0, room);
        this.cut(link, fault.kind === 'resetAfter' ? 'reset' : 'end');
        return;
      }
    }
    if (toClient) link.toClient += chunk.length;
    to.write(chunk);
  }

  private cut(link: Link, how: 'reset' | 'end'): void {
    if (!this.links.delete(link)) return;
    if (how === 'reset') {
      this.stats.resets++;
      link.client.resetAndDestroy();
      link.upstream?.destroy();
    } else {
      // FIN to the client after what was written; the server's side is simply dropped.
      this.stats.ends++;
      link.client.end();
      link.upstream?.destroy();
      setTimeout(() => link.client.destroy(), 1000).unref(); // a client that never ends its side
    }
  }

  private drop(link: Link): void {
    if (!this.links.delete(link)) return;
    link.client.destroy();
    link.upstream?.destroy();
  }
}

/**
 * The faults a test lets hold for a while and then heals, in order: every connection
 * reset, answers reset or cut with a FIN part-way, open streams ended, new connections
 * refused, every chunk delayed. Each is `[what, start]`; the caller heals.
 */
export function healableFaults(proxy: FaultProxy): Array<[string, () => void]> {
  return [
    ['every connection reset', () => proxy.resetAll()],
    ['answers reset after 300 bytes', () => proxy.inject({ kind: 'resetAfter', bytes: 300 })],
    ['answers cut with a FIN after 2 kB', () => proxy.inject({ kind: 'endAfter', bytes: 2000 })],
    ['open streams ended with a FIN', () => proxy.endAll()],
    ['new connections refused', () => { proxy.inject({ kind: 'refuse' }); proxy.resetAll(); }],
    ['every chunk delayed 300 ms', () => proxy.inject({ kind: 'delay', ms: 300 })],
  ];
}
