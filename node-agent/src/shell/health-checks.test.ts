import { describe, expect, it } from 'vitest';
import { silentLogger } from '@natplan/controller-kit';
import type { ServiceNatPlanEndpoint, ServiceNatPlanSpec } from '@natplan/api';
import { freePort } from '@natplan/e2e/control-plane';
import type { RenderInput } from '../render/index.js';
import { HealthCheckServers, healthChecksFor, newPartFactsCache } from './health-checks.js';
import { listenersFor } from './listeners.js';

// Test addresses: cluster IPs 10.96.0.0/16, pods 10.244.0.0/16; servers listen on loopback only.
const ep = (address: string, nodeName: string, forLocal = true): ServiceNatPlanEndpoint => ({ address, nodeName, ports: [{ name: '', port: 8443 }], forCluster: true, forLocal });
const svc = (name: string, part: number, spec: Partial<ServiceNatPlanSpec>): RenderInput['services'][number] =>
  ({ namespace: 'shop', name, spec: { service: { name }, part, ...spec } });
const input = (services: RenderInput['services']): RenderInput => ({ node: { nodeName: 'node-a' }, services, identity: { nodeName: 'node-a' } });

describe('health-check node ports of Local load balancers', () => {
  it('counts this node\'s local endpoints across all parts of a Service', () => {
    const checks = healthChecksFor(input([
      svc('api', 0, { externalTrafficPolicy: 'Local', healthCheckNodePort: 32000, ports: [{ name: '', protocol: 'TCP', port: 443 }], endpoints: [ep('10.244.1.7', 'node-a'), ep('10.244.2.7', 'node-b')] }),
      svc('api', 1, { endpoints: [ep('10.244.1.8', 'node-a'), ep('10.244.1.9', 'node-a', false)] }),
      svc('web', 0, { externalTrafficPolicy: 'Cluster', healthCheckNodePort: 32001 }),
    ]), newPartFactsCache());
    expect([...checks]).toEqual([[32000, { namespace: 'shop', name: 'api', localEndpoints: 2 }]]);
  });

  it('counts a plan part once per version: a new version is counted again, an unchanged one is not rescanned', () => {
    const api0 = svc('api', 0, { externalTrafficPolicy: 'Local', healthCheckNodePort: 32000, endpoints: [ep('10.244.1.7', 'node-a')] });
    const api1 = svc('api', 1, { endpoints: [ep('10.244.1.8', 'node-a')] });
    const cache = newPartFactsCache();
    expect(healthChecksFor(input([api0, api1]), cache).get(32000)?.localEndpoints).toBe(2);
    // The informer replaces a changed plan with a new object; the other part stays the same object.
    const api1v2 = svc('api', 1, { endpoints: [ep('10.244.1.8', 'node-a'), ep('10.244.1.9', 'node-a'), ep('10.244.2.9', 'node-b')] });
    expect(healthChecksFor(input([api0, api1v2]), cache).get(32000)?.localEndpoints).toBe(3);
    // Counted for the node asking (a hollow-node process runs agents of several nodes).
    const onB = healthChecksFor({ ...input([api0, api1v2]), identity: { nodeName: 'node-b' } }, cache);
    expect(onB.get(32000)?.localEndpoints).toBe(1);
    expect(healthChecksFor(input([api1v2]), cache)).toEqual(new Map());
  });

  it('answers 200 with local endpoints and a healthy proxy, 503 otherwise, and closes ports no longer needed', async () => {
    let proxyHealthy = true;
    const listeners = listenersFor('host', silentLogger);
    const servers = new HealthCheckServers(silentLogger, listeners.listen, () => proxyHealthy, '127.0.0.1');
    const [port, other] = [await freePort(), await freePort()];
    try {
      await servers.update(new Map([[port, { namespace: 'shop', name: 'api', localEndpoints: 2 }], [other, { namespace: 'shop', name: 'web', localEndpoints: 0 }]]));
      const ok = await fetch(`http://127.0.0.1:${port}/`);
      expect(ok.status).toBe(200);
      expect(ok.headers.get('x-load-balancing-endpoint-weight')).toBe('2');
      expect(await ok.json()).toEqual({ service: { namespace: 'shop', name: 'api' }, localEndpoints: 2, serviceProxyHealthy: true });
      const none = await fetch(`http://127.0.0.1:${other}/`);
      expect([none.status, await none.json()]).toEqual([503, { service: { namespace: 'shop', name: 'web' }, localEndpoints: 0, serviceProxyHealthy: true }]);
      proxyHealthy = false;
      const stalled = await fetch(`http://127.0.0.1:${port}/`);
      expect([stalled.status, await stalled.json()]).toEqual([503, { service: { namespace: 'shop', name: 'api' }, localEndpoints: 2, serviceProxyHealthy: false }]);
      proxyHealthy = true;
      await servers.update(new Map([[port, { namespace: 'shop', name: 'api', localEndpoints: 0 }]]));
      expect((await fetch(`http://127.0.0.1:${port}/`)).status).toBe(503);
      expect(servers.ports()).toEqual([port]);
      await expect(fetch(`http://127.0.0.1:${other}/`)).rejects.toThrow();
      await servers.update(new Map());
      expect(servers.ports()).toEqual([]);
      await expect(fetch(`http://127.0.0.1:${port}/`)).rejects.toThrow();
    } finally {
      await servers.close();
      await listeners.stop();
    }
  });
});
