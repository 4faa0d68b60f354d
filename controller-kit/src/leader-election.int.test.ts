import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startControlPlane, type ControlPlane } from '@natplan/e2e/control-plane';
import { kubeClient, type KubeClient } from './kube/client.js';
import { kubeLeaseStore } from './kube/lease-store.js';
import { call } from './kube/request.js';
import { LeaderElector } from './leader-election.js';

// Short timings so failover is observable in seconds; the ratios are client-go's (15/10/2).
const TIMING = { leaseDurationMs: 3_000, renewDeadlineMs: 2_000, retryPeriodMs: 400 };

let cp: ControlPlane;
let client: KubeClient;

beforeAll(async () => {
  cp = await startControlPlane({ installCrds: false });
  client = kubeClient(cp.kubeConfig);
});

afterAll(async () => {
  await cp?.stop();
});

function candidate(identity: string, leaseName: string) {
  const elector = new LeaderElector({
    lease: kubeLeaseStore(client, 'default', leaseName), identity, ...TIMING, onStartedLeading: () => {},
  });
  elector.start();
  return elector;
}

async function waitUntil(what: string, condition: () => boolean, timeoutMs: number): Promise<number> {
  const start = Date.now();
  while (!condition()) {
    if (Date.now() - start > timeoutMs) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return Date.now() - start;
}

describe('LeaderElector on a real API server', () => {
  it('elects exactly one of two, and hands over when the leader releases', async () => {
    const a = candidate('a', 'release');
    const b = candidate('b', 'release');
    await waitUntil('a leader', () => a.isLeader() || b.isLeader(), 5_000);
    // Several renew periods later there is still exactly one leader.
    await new Promise((resolve) => setTimeout(resolve, TIMING.retryPeriodMs * 4));
    expect([a, b].filter((e) => e.isLeader())).toHaveLength(1);
    const [leader, other] = a.isLeader() ? [a, b] : [b, a];

    const lease = await call<{ spec: { holderIdentity: string; renewTime: string; acquireTime: string } }>(client.requester, {
      method: 'GET', path: '/apis/coordination.k8s.io/v1/namespaces/default/leases/release',
    });
    expect(lease.spec.holderIdentity).toBe(leader === a ? 'a' : 'b');
    expect(lease.spec.renewTime).toMatch(/\.\d{6}Z$/);

    await leader.stop();
    const took = await waitUntil('takeover after release', () => other.isLeader(), 5_000);
    expect(took).toBeLessThan(TIMING.retryPeriodMs * 1.2 + 1_000);
    await other.stop();
  });

  it('takes over within leaseDuration + retryPeriod when the leader dies without releasing', async () => {
    const a = candidate('a', 'crash');
    await waitUntil('a leads', () => a.isLeader(), 5_000);
    const b = candidate('b', 'crash');
    await new Promise((resolve) => setTimeout(resolve, TIMING.retryPeriodMs * 2));
    expect(b.isLeader()).toBe(false);
    await a.stop({ release: false });
    const took = await waitUntil('takeover after expiry', () => b.isLeader(), 10_000);
    expect(took).toBeGreaterThanOrEqual(TIMING.leaseDurationMs - TIMING.retryPeriodMs * 1.2 - 200);
    expect(took).toBeLessThanOrEqual(TIMING.leaseDurationMs + TIMING.retryPeriodMs * 1.2 + 1_000);
    await b.stop();
  });
});
