/** Test doubles for the two seams this folder owns: Datagrams and Clock. */
import type { Clock, Datagrams } from './exchange.js';

/** A clock whose time moves only by advance(); due timers fire in order. */
export class FakeClock implements Clock {
  private time = 0;
  private timers: { at: number; seq: number; fn: () => void }[] = [];
  private seq = 0;

  now(): number {
    return this.time;
  }

  setTimer(ms: number, fn: () => void): () => void {
    const timer = { at: this.time + ms, seq: this.seq++, fn };
    this.timers.push(timer);
    return () => { this.timers = this.timers.filter((t) => t !== timer); };
  }

  pending(): number {
    return this.timers.length;
  }

  /** Moves time forward, firing due timers and letting promises settle after each. */
  async advance(ms: number): Promise<void> {
    const end = this.time + ms;
    for (;;) {
      await flush();
      this.timers.sort((a, b) => a.at - b.at || a.seq - b.seq);
      const next = this.timers[0];
      if (next === undefined || next.at > end) break;
      this.timers.shift();
      this.time = next.at;
      next.fn();
    }
    this.time = end;
    await flush();
  }
}

async function flush(): Promise<void> {
  for (let i = 0; i < 20; i++) await Promise.resolve();
}

/**
 * A gateway on the other end of a socket: `answer` sees each request and returns the
 * datagrams to send back (none for a lost packet). Answers arrive asynchronously, as
 * from a real socket.
 */
export class FakeGateway implements Datagrams {
  readonly sent: Uint8Array[] = [];
  private listeners = new Set<(datagram: Uint8Array) => void>();
  answer: (request: Uint8Array) => Uint8Array[] = () => [];

  constructor(private readonly address = '172.18.0.2') {}

  localAddress(): string {
    return this.address;
  }

  send(message: Uint8Array): void {
    this.sent.push(message);
    const replies = this.answer(message);
    queueMicrotask(() => { for (const reply of replies) for (const listener of [...this.listeners]) listener(reply); });
  }

  onMessage(listener: (datagram: Uint8Array) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  close(): void {
    this.listeners.clear();
  }
}
