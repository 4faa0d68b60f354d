import type { IncomingMessage, ServerResponse } from 'node:http';
import type { KubernetesObject } from '@kubernetes/client-node';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Informer } from '../informer.js';
import { answerJson, FaultyServer, type RequestInfo } from '../testing/faulty-server.js';
import { trapUnhandled } from '../testing/unhandled.js';
import { PlainClusterAccess } from './cluster-access.js';
import { kubeClient } from './client.js';
import { kubeListWatcher, type WatchOptions } from './list-watch.js';

/**
 * The list-watch path against a server whose watch streams fail: each failure ends in
 * exactly one `onDone`, the informer lists or watches again, and its cache converges to
 * what the server holds once the faults stop. No failure may hang a watch for good.
 */
let server: FaultyServer;
let unhandled: ReturnType<typeof trapUnhandled>;

const cm = (name: string, rv: string): KubernetesObject => ({ metadata: { namespace: 'ns', name, resourceVersion: rv } });

/** What the fake API server holds; lists answer it, watches are scripted per test. */
let objects: KubernetesObject[] = [];
let listVersion = '10';
let lists = 0;
let watches: URL[] = [];
let watchHandler: (req: IncomingMessage, res: ServerResponse, info: RequestInfo) => void = () => undefined;

beforeEach(async () => {
  server = await FaultyServer.start();
  objects = [cm('a', '1')];
  listVersion = '10';
  lists = 0;
  watches = [];
  server.handler = (req, res, info) => {
    if (info.url.pathname === '/api/v1') return answerJson(res, { resources: [{ name: 'configmaps', kind: 'ConfigMap', namespaced: true }] });
    if (info.url.searchParams.get('watch') === 'true') {
      watches.push(info.url);
      return watchHandler(req, res, info);
    }
    lists++;
    answerJson(res, { items: objects, metadata: { resourceVersion: listVersion } });
  };
  unhandled = trapUnhandled();
});

afterEach(async () => {
  await server.stop();
  expect(await unhandled.settle()).toEqual([]);
});

function listWatcher(options: WatchOptions = {}) {
  const access = new PlainClusterAccess({ server: server.url });
  return kubeListWatcher<KubernetesObject>(access, kubeClient(access), { apiVersion: 'v1', kind: 'ConfigMap' }, options);
}

function informer(options: WatchOptions = {}) {
  return new Informer(listWatcher(options), { name: 'ConfigMap', backoff: { baseMs: 20, maxMs: 50, jitter: 0 } });
}

const event = (type: string, obj: KubernetesObject) => `${JSON.stringify({ type, object: obj })}\n`;

async function until(what: string, check: () => boolean, timeoutMs = 3000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

const names = (inf: Informer<KubernetesObject>) => inf.list().map((o) => `${o.metadata?.name}@${o.metadata?.resourceVersion}`).sort();

describe('watch streams under faults', () => {
  it.each([
    ['reset', (res: ServerResponse) => res.socket?.resetAndDestroy()],
    ['FIN without the last chunk', (res: ServerResponse) => res.socket?.end()],
  ])('a stream %s mid-way ends the watch once, with an error; the informer re-lists and converges', async (_name, cut) => {
    let first = true;
    watchHandler = (_req, res) => {
      res.writeHead(200, { 'Content-Type': 'application/json' });
      if (!first) return; // later watches stay open and quiet
      first = false;
      res.write(event('ADDED', cm('b', '11')));
      res.write('{"type":"MODIFIED","obj'); // torn in the middle of an event
      setTimeout(() => {
        objects = [cm('a', '12'), cm('c', '13')]; // changed while the stream was broken
        listVersion = '13';
        cut(res);
      }, 20);
    };
    const inf = informer();
    inf.start();
    await until('re-list after the broken stream', () => lists === 2 && watches.length === 2);
    expect(names(inf)).toEqual(['a@12', 'c@13']);
    expect(watches[1]?.searchParams.get('resourceVersion')).toBe('13');
    await inf.stop();
  });

  it('calls onDone exactly once for a reset stream, and not after the caller aborts', async () => {
    watchHandler = (_req, res) => {
      res.writeHead(200, { 'Content-Type': 'application/json' });
      setTimeout(() => res.socket?.resetAndDestroy(), 20);
    };
    const lw = listWatcher();
    const done: unknown[] = [];
    await lw.watch('10', () => undefined, (err) => done.push(err));
    await until('the reset stream to end', () => done.length > 0);
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(done).toHaveLength(1);
    expect((done[0] as { code?: string }).code).toBe('ECONNRESET');

    let watchClosed = false;
    watchHandler = (req, res) => {
      req.socket.on('close', () => (watchClosed = true));
      res.writeHead(200, { 'Content-Type': 'application/json' }).flushHeaders();
    };
    const aborted: unknown[] = [];
    const handle = await lw.watch('10', () => undefined, (err) => aborted.push(err));
    await until('the watch to be open', () => watches.length === 2);
    handle.abort();
    await until('the aborted watch to close its connection', () => watchClosed);
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(aborted).toEqual([]);
  });

  it('resumes from the last resourceVersion when the server ends a stream normally', async () => {
    watchHandler = (_req, res) => {
      res.writeHead(200, { 'Content-Type': 'application/json' });
      if (watches.length > 1) return;
      res.write(event('ADDED', cm('b', '11')));
      setTimeout(() => res.end(), 1100); // a healthy watch, then the server's timeoutSeconds
    };
    const inf = informer();
    inf.start();
    await until('the second watch', () => watches.length === 2);
    expect(lists).toBe(1);
    expect(watches[1]?.searchParams.get('resourceVersion')).toBe('11');
    expect(names(inf)).toEqual(['a@1', 'b@11']);
    await inf.stop();
  });

  it('gives up on a watch whose headers never come and watches again', async () => {
    watchHandler = (_req, res) => {
      if (watches.length === 1) return; // the first watch request hangs before its headers
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.write(event('ADDED', cm('b', '11')));
    };
    const inf = informer({ headersTimeoutMs: 200 });
    inf.start();
    await until('the informer to see b through a second watch', () => names(inf).includes('b@11'));
    expect(watches).toHaveLength(2);
    await inf.stop();
  });

  it('gives up on a stream the server keeps open past its timeoutSeconds (a silent, half-open connection)', async () => {
    watchHandler = (_req, res) => {
      res.writeHead(200, { 'Content-Type': 'application/json' });
      if (watches.length === 1) return; // headers, then silence for good
      res.write(event('ADDED', cm('b', '11')));
    };
    const inf = informer({ timeoutSeconds: 1, closeGraceMs: 200 });
    inf.start();
    await until('the informer to see b through a second watch', () => names(inf).includes('b@11'), 5000);
    expect(watches[0]?.searchParams.get('timeoutSeconds')).toBe('1');
    await inf.stop();
  });

  it('ends a watch the server refuses with its status code (410 re-lists at once)', async () => {
    watchHandler = (_req, res) => {
      if (watches.length === 1) return answerJson(res, { kind: 'Status', code: 410, reason: 'Expired' }, 410);
      res.writeHead(200, { 'Content-Type': 'application/json' }).flushHeaders();
    };
    const inf = informer();
    inf.start();
    await until('a re-list after the 410', () => lists === 2 && watches.length === 2);
    await inf.stop();
  });
});
