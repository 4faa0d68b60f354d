import { afterEach, describe, expect, it } from 'vitest';
import { silentLogger } from '@natplan/controller-kit';
import { freePort } from '@natplan/e2e/control-plane';
import { listenersFor, type Listening } from './listeners.js';
import { ProxyHealth, serveProxyHealth } from './proxy-health.js';

const T0 = Date.parse('2026-01-01T00:00:00Z');

function health(options: { eligible?: boolean } = {}) {
  const clock = { now: T0 };
  const h = new ProxyHealth({ timeoutMs: 10_000, families: () => ['IPv4', 'IPv6'], nodeEligible: () => options.eligible ?? true, now: () => clock.now });
  return { h, clock };
}

describe('proxy health (/healthz, /livez)', () => {
  it('is healthy while nothing is pending, however long ago the last sync was', () => {
    const { h, clock } = health();
    clock.now += 3_600_000;
    expect(h.healthy()).toBe(true);
    expect(h.answer('/healthz').status).toBe(200);
  });

  it('a request pending past the timeout is unhealthy until a sync succeeds', () => {
    const { h, clock } = health();
    h.queued();
    clock.now += 9_999;
    h.queued(); // the oldest pending request ages, later ones do not reset it
    expect(h.answer('/healthz').status).toBe(200);
    clock.now += 1;
    expect(h.answer('/healthz').status).toBe(503);
    expect(h.answer('/livez').status).toBe(503);
    h.updated();
    expect(h.answer('/livez').status).toBe(200);
  });

  it('answers in kube-proxy\'s JSON shape: lastUpdated is now while healthy, the last success when not', () => {
    const { h, clock } = health();
    h.updated();
    clock.now += 1000;
    h.queued();
    expect(h.answer('/healthz').body).toEqual({
      lastUpdated: '2026-01-01T00:00:01.000Z', currentTime: '2026-01-01T00:00:01.000Z', nodeEligible: true, healthy: true,
      status: { IPv4: { lastUpdated: '2026-01-01T00:00:00.000Z', healthy: true }, IPv6: { lastUpdated: '2026-01-01T00:00:00.000Z', healthy: true } },
    });
    clock.now += 10_000;
    expect(h.answer('/livez').body).toEqual({
      lastUpdated: '2026-01-01T00:00:00.000Z', currentTime: '2026-01-01T00:00:11.000Z', healthy: false,
      status: { IPv4: { lastUpdated: '2026-01-01T00:00:00.000Z', healthy: false }, IPv6: { lastUpdated: '2026-01-01T00:00:00.000Z', healthy: false } },
    });
  });

  it('a leaving node fails /healthz but not /livez', () => {
    const { h } = health({ eligible: false });
    expect(h.answer('/healthz')).toMatchObject({ status: 503, body: { nodeEligible: false, healthy: true } });
    expect(h.answer('/livez').status).toBe(200);
  });

  describe('over HTTP', () => {
    const listeners = listenersFor('host', silentLogger);
    let served: Listening | undefined;
    afterEach(async () => { await served?.close(); await listeners.stop(); });

    it('serves /healthz and /livez with kube-proxy\'s headers, 404 elsewhere', async () => {
      const { h, clock } = health();
      const port = await freePort();
      served = await serveProxyHealth(listeners.listen, '127.0.0.1', port, h);
      const ok = await fetch(`http://127.0.0.1:${port}/healthz`);
      expect([ok.status, ok.headers.get('content-type'), ok.headers.get('x-content-type-options')]).toEqual([200, 'application/json', 'nosniff']);
      h.queued();
      clock.now += 10_000;
      expect((await fetch(`http://127.0.0.1:${port}/livez`)).status).toBe(503);
      expect((await fetch(`http://127.0.0.1:${port}/metrics`)).status).toBe(404);
    });
  });
});
