/**
 * One request/answer exchange over UDP with retransmission, free of real sockets and
 * timers: both are injected, so unit tests drive time by hand. The shell in udp.ts
 * supplies the real ones.
 */
import { GatewayTimeout } from './types.js';
import type { MappingProtocol } from './types.js';

/** A UDP socket already connected to the gateway's port 5351. */
export interface Datagrams {
  /** Our source address toward the gateway (PCP puts it in every request). */
  localAddress(): string;
  send(message: Uint8Array): void;
  /** Calls `listener` for every datagram from the gateway; returns the unsubscribe. */
  onMessage(listener: (datagram: Uint8Array) => void): () => void;
  close(): void;
}

export interface Clock {
  now(): number;
  /** Calls `fn` after `ms`; returns the cancel. */
  setTimer(ms: number, fn: () => void): () => void;
}

/**
 * Retransmission: send, wait `initialMs`, send again waiting twice as long, up to
 * `maxAttempts` sends. RFC 6886 section 3.1 (NAT-PMP: 250 ms doubling, 9 tries) and RFC 6887
 * section 8.1.1 (PCP: 3 s doubling without end) both retransmit this way; the totals are
 * bounded here because an agent would rather report "no gateway" and retry on its next
 * renewal than block a sync for a minute.
 */
export interface RetransmitPolicy {
  readonly initialMs: number;
  readonly maxAttempts: number;
}

/** PCP: 3 sends over 3.5 s (first wait 500 ms). */
export const PCP_RETRANSMIT: RetransmitPolicy = { initialMs: 500, maxAttempts: 3 };
/** NAT-PMP: RFC 6886's 250 ms start, 5 sends over 7.75 s instead of 9 over 127.75 s. */
export const NATPMP_RETRANSMIT: RetransmitPolicy = { initialMs: 250, maxAttempts: 5 };

/**
 * Sends `message` until `accept` returns a value (the answer) or throws (a refusal: the
 * exchange rejects with it), or the attempts run out (GatewayTimeout). `accept` returns
 * undefined for datagrams that do not answer this request; they are ignored.
 */
export function exchange<T>(
  datagrams: Datagrams, clock: Clock, message: Uint8Array, policy: RetransmitPolicy, via: MappingProtocol,
  accept: (datagram: Uint8Array) => T | undefined,
): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const started = clock.now();
    let attempts = 0;
    let cancelTimer: () => void = () => {};
    let done = false;
    const finish = (settle: () => void) => {
      done = true;
      cancelTimer();
      unsubscribe();
      settle();
    };
    const unsubscribe = datagrams.onMessage((datagram) => {
      let answer: T | undefined;
      try {
        answer = accept(datagram);
      } catch (error) {
        finish(() => reject(error));
        return;
      }
      if (answer !== undefined) finish(() => resolve(answer));
    });
    const attempt = () => {
      if (done) return;
      if (attempts >= policy.maxAttempts) {
        finish(() => reject(new GatewayTimeout(via, attempts, clock.now() - started)));
        return;
      }
      const wait = policy.initialMs * 2 ** attempts;
      attempts += 1;
      try {
        datagrams.send(message);
      } catch (error) {
        finish(() => reject(error));
        return;
      }
      // An answer may arrive within send (a fake, a loopback socket): then no timer.
      if (!done) cancelTimer = clock.setTimer(wait, attempt);
    };
    attempt();
  });
}
