import type { ServerResponse } from 'node:http';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { TemporaryError } from '../errors.js';
import { answerJson, FaultyServer } from '../testing/faulty-server.js';
import { trapUnhandled } from '../testing/unhandled.js';
import { typedApiError } from './api-errors.js';
import { PlainClusterAccess } from './cluster-access.js';
import { kubeRequester } from './kube-requester.js';

/**
 * kubeRequester against a server that fails the way a loaded API server or a network
 * does. Each failure must come back as a rejected promise the error taxonomy calls
 * temporary (so callers retry with backoff), never as an unhandled error, and never as a
 * request that hangs.
 */
let server: FaultyServer;
let unhandled: ReturnType<typeof trapUnhandled>;

beforeEach(async () => {
  server = await FaultyServer.start();
  unhandled = trapUnhandled();
});

afterEach(async () => {
  await server.stop();
  expect(await unhandled.settle()).toEqual([]);
});

const requesterFor = (options: { timeoutMs?: number; deadlineMs?: number } = {}) =>
  kubeRequester(new PlainClusterAccess({ server: server.url }), options);

/** The rejection of `promise`, or a failure when it resolves. */
async function failure(promise: Promise<unknown>): Promise<Error & { code?: string }> {
  try {
    await promise;
  } catch (err) {
    return err as Error & { code?: string };
  }
  throw new Error('expected a rejection');
}

describe('kubeRequester under faults', () => {
  it('retries on a fresh connection when the server closed a reused keep-alive connection before answering', async () => {
    // The race every keep-alive client meets: the server drops an idle connection just
    // as the client sends on it. The request never reached the server, so it is sent again.
    server.handler = (req, res, { reused }) => (reused ? req.socket.destroy() : answerJson(res, { ok: true }));
    const requester = requesterFor();
    expect((await requester({ method: 'GET', path: '/a' })).body).toEqual({ ok: true });
    expect((await requester({ method: 'PATCH', path: '/b', body: '{}' })).body).toEqual({ ok: true });
    expect(server.requests).toBe(3);
  });

  it('gives up after one retry when fresh connections fail too, with a temporary network error', async () => {
    let n = 0;
    server.handler = (req, res) => (n++ === 0 ? answerJson(res, {}) : req.socket.destroy());
    const requester = requesterFor();
    await requester({ method: 'GET', path: '/warm' });
    const err = await failure(requester({ method: 'GET', path: '/a' }));
    expect(err.code).toBe('ECONNRESET');
    expect(typedApiError(err)).toBeInstanceOf(TemporaryError);
    expect(server.requests).toBe(3); // the warm-up, the reused attempt, one fresh retry
  });

  it('does not resend a request that failed on a fresh connection (the server may have seen it)', async () => {
    server.handler = (req) => req.socket.end();
    const err = await failure(requesterFor()({ method: 'POST', path: '/a', body: '{}' }));
    expect(err.message).toMatch(/socket hang up/);
    expect(typedApiError(err)).toBeInstanceOf(TemporaryError);
    expect(server.requests).toBe(1);
  });

  it.each([
    ['reset after the headers and part of the body', (res: ServerResponse) => {
      res.writeHead(200, { 'Content-Length': '100' });
      res.write('{"items":');
      setTimeout(() => res.socket?.resetAndDestroy(), 10);
    }],
    ['FIN in the middle of a chunked body', (res: ServerResponse) => {
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.write('{"items":');
      setTimeout(() => res.socket?.end(), 10);
    }],
  ])('rejects with a temporary error on a %s', async (_name, answer) => {
    server.handler = (_req, res) => answer(res);
    const err = await failure(requesterFor()({ method: 'GET', path: '/a' }));
    expect(err.code).toBe('ECONNRESET');
    expect(typedApiError(err)).toBeInstanceOf(TemporaryError);
  });

  it('times out a request whose headers never come', async () => {
    server.handler = () => undefined;
    const started = Date.now();
    const err = await failure(requesterFor({ timeoutMs: 200 })({ method: 'GET', path: '/a' }));
    expect(err.code).toBe('ETIMEDOUT');
    expect(typedApiError(err)).toBeInstanceOf(TemporaryError);
    expect(Date.now() - started).toBeLessThan(2000);
  });

  it("takes the wait from the access's apiTimeouts when no option says otherwise", async () => {
    server.handler = () => undefined;
    const err = await failure(kubeRequester(new PlainClusterAccess({ server: server.url }, { requestMs: 200 }))({ method: 'GET', path: '/a' }));
    expect(err.code).toBe('ETIMEDOUT');
    expect(err.message).toMatch(/no answer within 200 ms/);
  });

  it('ends a response that trickles past the deadline (the idle timeout never fires)', async () => {
    server.handler = (req, res) => {
      res.writeHead(200, { 'Content-Type': 'application/json' });
      const timer = setInterval(() => res.write(' '), 20);
      req.socket.on('close', () => clearInterval(timer));
    };
    const err = await failure(requesterFor({ timeoutMs: 200, deadlineMs: 500 })({ method: 'GET', path: '/a' }));
    expect(err.code).toBe('ETIMEDOUT');
    expect(err.message).toMatch(/deadline/);
  });

  it('rejects with ECONNREFUSED when nothing listens', async () => {
    const url = server.url;
    await server.stop();
    const err = await failure(kubeRequester(new PlainClusterAccess({ server: url }))({ method: 'GET', path: '/a' }));
    expect(err.code).toBe('ECONNREFUSED');
    expect(typedApiError(err)).toBeInstanceOf(TemporaryError);
    server = await FaultyServer.start(); // for afterEach
  });
});
