import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startControlPlane, waitFor, type ControlPlane } from '@natplan/e2e/control-plane';
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

/** Polls `condition` until it holds; the timeout is generous, only there to end a hung test. */
async function waitUntil(what: string, condition: () => boolean | Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  await waitFor(what, async () => ((await condition()) ? true : undefined), timeoutMs, 50);
}

type Lease = { metadata: { resourceVersion: string }; spec: { holderIdentity?: string; renewTime: string; acquireTime: string; leaseTransitions?: number } };
const readLease = (name: string) => call<Lease>(client.requester, { method: 'GET', path: `/apis/coordination.k8s.io/v1/namespaces/default/leases/${name}` });

/**
 * Waits until the Lease was renewed `times` more times (a positive signal that renew periods
 * passed, instead of a sleep), calling `look` at every poll on the way; the caller asserts
 * on what it saw afterwards (an assertion inside the poll would only be retried).
 */
async function renewals(name: string, times: number, look: () => void): Promise<Lease> {
  const seen = new Set<string>();
  let last!: Lease;
  await waitUntil(`${times} renewals of lease ${name}`, async () => {
    look();
    last = await readLease(name);
    seen.add(last.spec.renewTime);
    return seen.size > times;
  });
  return last;
}

describe('LeaderElector on a real API server', () => {
  it('elects exactly one of two, and hands over when the leader releases', async () => {
    const a = candidate('a', 'release');
    const b = candidate('b', 'release');
    await waitUntil('a leader', () => a.isLeader() || b.isLeader());
    // Several renewals later there was exactly one leader at every look.
    const leaders: number[] = [];
    const lease = await renewals('release', 4, () => leaders.push([a, b].filter((e) => e.isLeader()).length));
    expect(leaders.length).toBeGreaterThan(4);
    expect(leaders.filter((n) => n !== 1)).toEqual([]);
    const [leader, other] = a.isLeader() ? [a, b] : [b, a];
    expect(lease.spec.holderIdentity).toBe(leader === a ? 'a' : 'b');
    expect(lease.spec.renewTime).toMatch(/\.\d{6}Z$/);

    await leader.stop();
    await waitUntil('takeover after release', () => other.isLeader());
    const after = await readLease('release');
    expect(after.spec.holderIdentity).toBe(other === a ? 'a' : 'b');
    expect(after.spec.leaseTransitions).toBe((lease.spec.leaseTransitions ?? 0) + 1);
    await other.stop();
  });

  it('takes over only once the lease expired when the leader dies without releasing', async () => {
    const a = candidate('a', 'crash');
    await waitUntil('a leads', () => a.isLeader());
    const b = candidate('b', 'crash');
    // While a renews, b (retrying all along) never leads.
    const bLed: boolean[] = [];
    await renewals('crash', 2, () => bLed.push(b.isLeader()));
    expect(bLed.filter(Boolean)).toEqual([]);
    await a.stop({ release: false });
    const last = await readLease('crash'); // a's last renewal: nobody else may write before it expires
    expect(last.spec.holderIdentity).toBe('a');
    await waitUntil('takeover after expiry', () => b.isLeader());
    const taken = await readLease('crash');
    expect(taken.spec.holderIdentity).toBe('b');
    // The Lease's own record, not the test's clock: b acquired no earlier than a lease
    // duration after a's last renewal (b counts from when it saw that renewal, which is later).
    expect(Date.parse(taken.spec.acquireTime) - Date.parse(last.spec.renewTime)).toBeGreaterThanOrEqual(TIMING.leaseDurationMs);
    await b.stop();
  });
});
