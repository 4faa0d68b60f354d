/**
 * Leadership on a real API server, with a short lease: when another holder takes the
 * Lease, the operator's term ends (its controllers and informers stop) and it writes
 * nothing more; when the Lease is free
 * again, a new term starts with fresh caches and catches up, rewriting nothing that is
 * already right. Own control plane and namespace, so other tests' state does not matter.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { formatMicroTime, jsonLogger, kubeClient, kubeLeaseStore, type LeaseStore } from '@natplan/controller-kit';
import {
  type ControlPlane, countWrites, startControlPlane, testApi, waitFor, type WriteCounter,
} from '@natplan/e2e/control-plane';
import { parseOperatorConfig } from '../src/config.js';
import { startOperator, type RunningOperator } from '../src/shell/operator.js';
import { makeService } from './builders.js';

const NS = 'terms';
const LEASE = 'natplan-operator-test';
let cp: ControlPlane;
let api: ReturnType<typeof testApi>;
let lease: LeaseStore;
let operator: RunningOperator;
const logs: Array<{ level: string; msg: string }> = [];
const logged = (msg: string) => logs.filter((l) => l.msg === msg).length;
/** Stopped after the file, also when a test fails. */
let writes: WriteCounter | undefined;

beforeAll(async () => {
  cp = await startControlPlane();
  api = testApi(cp.kubeConfig);
  lease = kubeLeaseStore(kubeClient(cp.kubeConfig), 'default', LEASE);
  await api.core.createNamespace({ body: { metadata: { name: NS } } });
  // 1.5 s lease: renew deadline 1 s, retry every ~0.2 s (operator/src/shell/operator.ts).
  const parsed = parseOperatorConfig([
    '--leader-elect=true', '--leader-election-namespace=default', `--leader-election-name=${LEASE}`, '--lease-duration=1500ms', '--identity=operator-a',
    '--metrics-address=127.0.0.1:0', '--cluster-cidrs=10.244.0.0/16', '--log-level=info',
  ], {}, 'test');
  if (!parsed.ok) throw new Error(parsed.errors.join('; '));
  const logger = jsonLogger({ component: 'operator', level: 'info', write: (line) => void logs.push(JSON.parse(line)) });
  operator = await startOperator({ kubeConfig: cp.kubeConfig, config: parsed.config, logger });
}, 180_000);

afterAll(async () => {
  writes?.stop();
  await operator?.stop();
  await cp?.stop();
});

const plan = async (name: string) => (await api.plans('servicenatplans', NS)).find((p) => p.metadata.name === name);

/** Writes the Lease as another holder would (compare-and-swap; retried while the leader's renewals win the race). */
async function holdLease(holderIdentity: string | undefined, leaseDurationSeconds: number): Promise<void> {
  await waitFor(`lease written for ${holderIdentity ?? 'nobody'}`, async () => {
    const current = await lease.get();
    if (!current) throw new Error('no lease yet');
    const now = formatMicroTime(Date.now());
    await lease.update({ holderIdentity, leaseDurationSeconds, acquireTime: now, renewTime: now, leaseTransitions: current.record.leaseTransitions + 1 }, current.resourceVersion);
    return true;
  }, 10_000, 20);
}

/** The operator leads (the Lease freed first if another holder has it): where each test starts. */
async function leading(): Promise<void> {
  if (operator.isLeader()) return;
  if ((await lease.get())?.record.holderIdentity !== 'operator-a') await holdLease(undefined, 1);
  await waitFor('operator leads', async () => (operator.isLeader() ? true : undefined), 20_000);
}

let services = 0;
/** A Service name of the calling test's own. */
const serviceName = (what: string) => `${what}-${++services}`;

describe('leadership terms', () => {
  it('the leader plans Services', async () => {
    await leading();
    const name = serviceName('planned');
    await api.create(makeService(NS, name));
    await waitFor(`plan ${name}`, () => plan(name), 20_000);
  });

  it('after another holder takes the Lease, the operator steps down, stops its term and writes nothing; once the Lease is free, a new term starts from fresh caches and catches up', async () => {
    await leading();
    const [one, two] = [serviceName('one'), serviceName('two')];
    await api.create(makeService(NS, one));
    await waitFor(`plan ${one}`, () => plan(one), 20_000);
    const stoppedBefore = logged('term stopped');
    const startedBefore = logged('caches synced; controllers started');
    // Plan writes from the moment leadership is taken away until the end: the gap included.
    writes = await countWrites(cp.kubeConfig, 'servicenatplans');
    await holdLease('intruder', 3600);
    await waitFor('operator stepped down', async () => (operator.isLeader() ? undefined : true), 10_000);
    // Controllers drained and informers closed: from here nothing of that term runs.
    await waitFor('term stopped', async () => (logged('term stopped') > stoppedBefore ? true : undefined), 10_000);
    expect((await fetch(`${operator.http.url}/readyz`)).ok).toBe(true); // a standby is ready
    await api.create(makeService(NS, two));
    await api.core.deleteNamespacedService({ name: one, namespace: NS });
    expect(await plan(two)).toBeUndefined();
    expect(await plan(one)).toBeDefined();

    await holdLease(undefined, 1);
    await waitFor('operator leads again', async () => (operator.isLeader() ? true : undefined), 10_000);
    await waitFor(`plan ${two}`, () => plan(two), 20_000);
    // The plan of the Service deleted meanwhile goes with it (no garbage collector runs here).
    await waitFor(`plan ${one} removed`, async () => ((await plan(one)) ? undefined : true), 20_000);
    // The write counter reads a watch, which can trail the GETs that found the plans.
    const gap = writes;
    await waitFor('the watch saw both catch-up writes', async () => (gap.counts()[`ADDED ${NS}/${two}`] && gap.counts()[`DELETED ${NS}/${one}`] ? true : undefined), 10_000);
    // Counted since before the Lease was taken: nothing in the gap, each catch-up write once
    // (this namespace only: the API server creates default/kubernetes at a time of its own).
    const ours = Object.fromEntries(Object.entries(gap.counts()).filter(([key]) => key.includes(` ${NS}/`)));
    expect(ours).toEqual({ [`ADDED ${NS}/${two}`]: 1, [`DELETED ${NS}/${one}`]: 1 });
    expect(logged('caches synced; controllers started')).toBe(startedBefore + 1);
    await waitFor('ready as leader', async () => ((await fetch(`${operator.http.url}/readyz`)).ok ? true : undefined), 10_000);
  });
});
