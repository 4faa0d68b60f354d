import { afterEach, describe, expect, it } from 'vitest';
import { startHttpServer, type RunningHttpServer } from './http-server.js';
import { Metrics } from './metrics.js';

let server: RunningHttpServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

describe('startHttpServer', () => {
  it('serves metrics, health and readiness on loopback', async () => {
    const metrics = new Metrics({ prefix: 'demo_' });
    metrics.counter('things_total', 'Things.').inc(3);
    let synced = false;
    server = await startHttpServer({
      host: '127.0.0.1', port: 0, metrics,
      readiness: { informers: () => synced, broken: () => { throw new Error('x'); } },
    });
    const get = async (path: string) => {
      const res = await fetch(server!.url + path);
      return { status: res.status, text: await res.text(), type: res.headers.get('content-type') };
    };
    const scraped = await get('/metrics');
    expect(scraped.status).toBe(200);
    expect(scraped.text).toContain('demo_things_total 3');
    expect(scraped.type).toContain('text/plain');
    expect(await get('/healthz')).toMatchObject({ status: 200, text: 'ok\n' });
    expect(await get('/readyz')).toMatchObject({ status: 503, text: '[-] informers failed\n[-] broken failed\n' });
    synced = true;
    expect((await get('/readyz')).text).toBe('[-] broken failed\n');
    expect((await get('/nope')).status).toBe(404);
  });

  it('reuses metrics of the same name instead of failing on double registration', () => {
    const metrics = new Metrics();
    expect(metrics.counter('a_total', 'A.')).toBe(metrics.counter('a_total', 'A.'));
  });
});
