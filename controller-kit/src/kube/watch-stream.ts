import type { IncomingMessage } from 'node:http';
import { type ApiConnection, networkError } from './connection.js';
import type { ApiRequest } from './request.js';

export interface WatchStreamTimeouts {
  /** The response headers must come within this; the connection is given up otherwise. */
  headersTimeoutMs: number;
  /**
   * The stream must have ended by then (the server closes it after the timeoutSeconds it
   * was asked for); one still open is taken as dead — a half-open connection after a
   * network failure, or a server that hangs — and ended with an error.
   */
  endByMs: number;
}

export interface WatchStreamHandle {
  /** Ends the stream; onDone is not called after this. */
  abort(): void;
}

/** Bytes of a refused watch's answer kept for the error message. */
const MAX_ERROR_BODY = 4096;

/**
 * One watch request (`?watch=true`) read as newline-delimited JSON events, on an
 * ApiConnection. Replaces client-node's Watch, which gives no way to bound the wait for
 * headers (its fetch timeout is built and then overwritten) nor the life of a stream, so
 * one silent connection held an informer forever.
 *
 * `onEvent` sees each `{type, object}`; then `onDone` is called exactly once (unless the
 * caller aborted first): without an error when the server ended the stream cleanly, with
 * one for anything else — refused (with its `statusCode`), reset, cut off mid-event,
 * unparsable, timed out. An exception from `onEvent` ends the stream as an error.
 */
export async function openWatchStream(
  connection: ApiConnection,
  path: string,
  query: ApiRequest['query'],
  timeouts: WatchStreamTimeouts,
  onEvent: (type: string, object: unknown) => void,
  onDone: (err?: Error) => void,
): Promise<WatchStreamHandle> {
  const prepared = await connection.prepare('GET', path, { ...query, watch: true });
  let finished = false;
  const stop = () => {
    finished = true;
    clearTimeout(headersTimer);
    clearTimeout(endTimer);
  };
  const finish = (err?: Error) => {
    if (finished) return;
    stop();
    // Only a clean end leaves the connection whole (and in the keep-alive pool).
    if (err) req.destroy();
    onDone(err);
  };
  const req = prepared.transport.request(prepared.url, prepared.options);
  const headersTimer = setTimeout(() => finish(networkError(`watch ${path}: no response headers within ${timeouts.headersTimeoutMs} ms`, 'ETIMEDOUT')), timeouts.headersTimeoutMs);
  const endTimer = setTimeout(() => finish(networkError(`watch ${path}: still open ${timeouts.endByMs} ms after it began, past the server's timeout`, 'ETIMEDOUT')), timeouts.endByMs);
  // Probes a quiet connection, so a dead peer is noticed before endBy where the kernel allows.
  req.on('socket', (socket) => socket.setKeepAlive(true, 30_000));
  req.on('error', finish);
  req.on('response', (res) => {
    clearTimeout(headersTimer);
    res.on('error', finish);
    res.on('close', () => { if (!res.complete) finish(networkError(`watch ${path}: the stream was cut off`, 'ECONNRESET')); });
    if (res.statusCode === 200) readEvents(res, path, onEvent, finish);
    else readRefusal(res, path, finish);
  });
  req.end();
  return { abort: () => { if (!finished) { stop(); req.destroy(); } } };
}

function readEvents(res: IncomingMessage, path: string, onEvent: (type: string, object: unknown) => void, finish: (err?: Error) => void): void {
  res.setEncoding('utf8');
  let pending = '';
  res.on('data', (chunk: string) => {
    pending += chunk;
    for (let nl = pending.indexOf('\n'); nl >= 0; nl = pending.indexOf('\n')) {
      const line = pending.slice(0, nl).trim();
      pending = pending.slice(nl + 1);
      if (!line) continue;
      let event: { type?: unknown; object?: unknown };
      try {
        event = JSON.parse(line) as typeof event;
      } catch {
        return finish(new Error(`watch ${path}: unparsable event ${JSON.stringify(line.slice(0, 200))}`));
      }
      try {
        onEvent(String(event.type), event.object);
      } catch (err) {
        return finish(err instanceof Error ? err : new Error(String(err)));
      }
    }
  });
  res.on('end', () => finish(pending.trim() ? networkError(`watch ${path}: the stream ended inside an event`, 'ECONNRESET') : undefined));
}

/** A non-200 answer: an Error with its statusCode (410 Gone: the resourceVersion is too old). */
function readRefusal(res: IncomingMessage, path: string, finish: (err?: Error) => void): void {
  let body = '';
  res.setEncoding('utf8');
  res.on('data', (chunk: string) => { if (body.length < MAX_ERROR_BODY) body += chunk; });
  res.on('end', () => {
    let message = body.slice(0, MAX_ERROR_BODY);
    try {
      message = (JSON.parse(body) as { message?: string }).message ?? message;
    } catch {
      // not a Status: keep the text
    }
    finish(Object.assign(new Error(`watch ${path}: ${res.statusCode} ${message}`), { statusCode: res.statusCode }));
  });
}
