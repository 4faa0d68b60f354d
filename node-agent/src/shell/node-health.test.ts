import { createServer } from 'node:net';
import { describe, expect, it } from 'vitest';
import type { Logger } from '@natplan/controller-kit';
import { freePort } from '@natplan/e2e/control-plane';
import type { RenderInput } from '../render/index.js';
import { NodeHealth } from './node-health.js';

// Servers listen on loopback only; pods 10.244.0.0/16.
/** A Local load balancer with one endpoint on this node, its health check on `healthCheckNodePort`. */
const localLoadBalancer = (healthCheckNodePort: number): RenderInput => ({
  node: { nodeName: 'node-a' }, identity: { nodeName: 'node-a' },
  services: [{ namespace: 'shop', name: 'api', spec: { service: { name: 'api' }, part: 0, externalTrafficPolicy: 'Local', healthCheckNodePort, endpoints: [{ address: '10.244.1.5', nodeName: 'node-a', ports: [{ name: '', port: 80 }], forCluster: true, forLocal: true }] } }],
});

function recordingLogger() {
  const errors: string[] = [];
  const logger: Logger = { info: () => {}, error: (msg) => void errors.push(msg) };
  return { logger, errors };
}

describe('node health', () => {
  it('a /healthz port held by another process (kube-proxy beside us) is logged, and the rest still works', async () => {
    const port = await freePort();
    const holder = createServer();
    await new Promise<void>((resolve) => holder.listen(port, '127.0.0.1', resolve));
    const { logger, errors } = recordingLogger();
    const checkPort = await freePort();
    const health = new NodeHealth({
      target: 'host', logger, healthz: { host: '127.0.0.1', port }, healthCheckServers: true, timeoutMs: 60_000, families: () => ['IPv4'], nodeEligible: () => true,
    });
    try {
      await health.start();
      expect(errors).toEqual(['healthz port unavailable; /healthz and /livez are not served']);
      await health.synced(localLoadBalancer(checkPort));
      expect((await fetch(`http://127.0.0.1:${checkPort}/`)).status).toBe(200);
    } finally {
      await health.stop();
      holder.close();
    }
    await expect(fetch(`http://127.0.0.1:${checkPort}/`)).rejects.toThrow();
  });

  it('serves /healthz from the proxy state it is told about', async () => {
    const port = await freePort();
    const health = new NodeHealth({
      target: 'host', logger: recordingLogger().logger, healthz: { host: '127.0.0.1', port }, healthCheckServers: false, timeoutMs: 0, families: () => ['IPv4'], nodeEligible: () => true,
    });
    try {
      await health.start();
      expect((await fetch(`http://127.0.0.1:${port}/healthz`)).status).toBe(200);
      // With no grace at all, a queued sync is late at once; a successful one clears it.
      health.queued();
      expect((await fetch(`http://127.0.0.1:${port}/healthz`)).status).toBe(503);
      await health.synced(localLoadBalancer(await freePort()));
      expect((await fetch(`http://127.0.0.1:${port}/livez`)).status).toBe(200);
    } finally {
      await health.stop();
    }
  });
});
