import * as http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

/** What a test's handler learns about a request besides the request itself. */
export interface RequestInfo {
  url: URL;
  /** The connection carried an earlier request (a keep-alive socket the client reused). */
  reused: boolean;
}

export type FaultyHandler = (req: http.IncomingMessage, res: http.ServerResponse, info: RequestInfo) => void;

/**
 * A plain local HTTP server whose answers each test scripts, to make an API client meet
 * the failures a loaded API server or a network causes — a reset after some bytes, a
 * FIN before the answer, a keep-alive connection closed under the client, headers that
 * never come, a body that trickles — deterministically and in milliseconds. It speaks
 * no Kubernetes beyond what a handler writes; real API-server behaviour is tested
 * through e2e/control-plane's fault proxy.
 */
export class FaultyServer {
  private readonly server: http.Server;
  private readonly seen = new WeakSet<Socket>();
  private readonly sockets = new Set<Socket>();
  handler: FaultyHandler = (_req, res) => res.end();
  requests = 0;

  private constructor() {
    this.server = http.createServer((req, res) => {
      this.requests++;
      const reused = this.seen.has(req.socket);
      this.seen.add(req.socket);
      this.handler(req, res, { url: new URL(req.url ?? '/', 'http://faulty'), reused });
    });
    // Idle connections stay open: closing them is a fault a test asks for, not a timer.
    this.server.keepAliveTimeout = 60_000;
    this.server.on('connection', (socket: Socket) => {
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
    });
  }

  static async start(): Promise<FaultyServer> {
    const faulty = new FaultyServer();
    await new Promise<void>((resolve) => faulty.server.listen(0, '127.0.0.1', resolve));
    return faulty;
  }

  get url(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  /** Open connections, idle keep-alive ones included. */
  get connections(): number {
    return this.sockets.size;
  }

  /** Closes every open connection with a FIN, as a server does to idle keep-alive connections. */
  endConnections(): void {
    for (const socket of this.sockets) socket.end();
  }

  async stop(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

/** Writes `body` as a JSON answer. */
export function answerJson(res: http.ServerResponse, body: unknown, statusCode = 200): void {
  res.writeHead(statusCode, { 'Content-Type': 'application/json' });
  res.end(JSON.stringify(body));
}
