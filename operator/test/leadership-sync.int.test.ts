/**
 * Finding 8 on a real API server: a short lease, and a cache sync made slow on purpose
 * (the Service list is held back, as on a loaded machine). Leadership is lost while the
 * term is still syncing; that term must never start its controllers or write, must not
 * crash, and the next term must start cleanly and write each plan once.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { formatMicroTime, jsonLogger, kubeClient, kubeLeaseStore, type LeaseStore } from '@natplan/controller-kit';
import type { Requester } from '@natplan/controller-kit';
import { type ControlPlane, countWrites, startControlPlane, testApi, waitFor } from '@natplan/e2e/control-plane';
import { parseOperatorConfig } from '../src/config.js';
import { startOperator, type RunningOperator } from '../src/shell/operator.js';
import { makeService } from './builders.js';

const NS = 'slow-sync';
const LEASE = 'natplan-operator-slow';
let cp: ControlPlane;
let api: ReturnType<typeof testApi>;
let lease: LeaseStore;
let operator: RunningOperator | undefined;
const logs: Array<{ level: string; msg: string; error?: string }> = [];

/** The first list of Services waits at `gate` until the test opens it. */
const slowList = (() => {
  let open!: () => void;
  const gate = new Promise<void>((resolve) => (open = resolve));
  const state = { arrived: false, answered: false, held: true, open: () => open() };
  const wrap = (requester: Requester): Requester => async (request) => {
    if (state.held && request.method === 'GET' && request.path === '/api/v1/services') {
      state.held = false;
      state.arrived = true;
      await gate;
      const response = await requester(request);
      state.answered = true;
      return response;
    }
    return requester(request);
  };
  return { state, wrap };
})();

beforeAll(async () => {
  cp = await startControlPlane();
  api = testApi(cp.kubeConfig);
  lease = kubeLeaseStore(kubeClient(cp.kubeConfig), 'default', LEASE);
  await api.core.createNamespace({ body: { metadata: { name: NS } } });
  await api.create(makeService(NS, 'early'));
}, 180_000);

afterAll(async () => {
  await operator?.stop();
  await cp?.stop();
});

const plan = async (name: string) => (await api.plans('servicenatplans', NS)).find((p) => p.metadata.name === name);

async function holdLease(holderIdentity: string | undefined, leaseDurationSeconds: number): Promise<void> {
  await waitFor(`lease written for ${holderIdentity ?? 'nobody'}`, async () => {
    const current = await lease.get();
    if (!current) throw new Error('no lease yet');
    const now = formatMicroTime(Date.now());
    await lease.update({ holderIdentity, leaseDurationSeconds, acquireTime: now, renewTime: now, leaseTransitions: current.record.leaseTransitions + 1 }, current.resourceVersion);
    return true;
  }, 10_000, 20);
}

describe('leadership lost during a slow cache sync', () => {
  it('the syncing term never starts controllers nor writes; the next term starts cleanly and writes each plan once', async () => {
    const parsed = parseOperatorConfig([
      '--leader-elect=true', '--leader-election-namespace=default', `--leader-election-name=${LEASE}`, '--lease-duration=1500ms', '--identity=operator-slow',
      '--metrics-address=127.0.0.1:0', '--cluster-cidrs=10.244.0.0/16', '--log-level=info',
    ], {}, 'test');
    if (!parsed.ok) throw new Error(parsed.errors.join('; '));
    const logger = jsonLogger({ component: 'operator', level: 'info', write: (line) => void logs.push(JSON.parse(line)) });
    const writes = await countWrites(cp.kubeConfig, 'servicenatplans');
    try {
      operator = await startOperator({ kubeConfig: cp.kubeConfig, config: parsed.config, logger, wrapRequester: slowList.wrap });
      await waitFor('term 1 syncing its caches', async () => (operator!.isLeader() && slowList.state.arrived ? true : undefined), 20_000);

      await holdLease('intruder', 3600);
      await waitFor('stepped down', async () => (operator!.isLeader() ? undefined : true), 10_000);
      await waitFor('term 1 ended before its caches synced', async () => (logs.some((l) => l.msg === 'term ended before caches synced; controllers not started') ? true : undefined), 10_000);
      slowList.state.open(); // the slow list answers only now, to a term that has ended
      await waitFor('slow list answered', async () => (slowList.state.answered ? true : undefined), 10_000);

      await holdLease(undefined, 1);
      await waitFor('plan early', () => plan('early'), 20_000);
      await waitFor('controllers started once', async () => (logs.some((l) => l.msg === 'caches synced; controllers started') ? true : undefined), 10_000);
      await api.create(makeService(NS, 'late'));
      await waitFor('plan late', () => plan('late'), 20_000);
      // The write counter reads a watch, which can trail the GET that found the plan.
      await waitFor('the watch saw plan late', async () => (writes.counts()[`ADDED ${NS}/late`] ? true : undefined), 10_000);
      // Only this test's namespace: the API server creates default/kubernetes at a time of its own.
      const ours = Object.fromEntries(Object.entries(writes.counts()).filter(([key]) => key.includes(` ${NS}/`)));
      expect(ours).toEqual({ [`ADDED ${NS}/early`]: 1, [`ADDED ${NS}/late`]: 1 });
      expect(logs.filter((l) => l.msg === 'caches synced; controllers started')).toHaveLength(1);
      expect(logs.filter((l) => l.level === 'error' && l.msg !== 'lost leadership')).toEqual([]);
    } finally {
      writes.stop();
    }
  });
});
