/**
 * The operator against a failing API server: it reaches the real API server through
 * e2e/control-plane's fault proxy (informers, plan writes, Events and its leader Lease
 * all go through it), which resets connections, cuts answers and watch streams short,
 * refuses new connections, delays, and swallows requests, while the test keeps moving
 * an EndpointSlice (directly, not through the proxy). Then the faults stop, and the
 * operator must be alive, with no unhandled rejection or exception, leading again, and
 * converge: the ServiceNatPlan holds the slice's current endpoint.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jsonLogger } from '@natplan/controller-kit';
import { trapUnhandled } from '@natplan/controller-kit/testing';
import { FaultProxy, healableFaults, startControlPlane, testApi, waitFor, type ControlPlane } from '@natplan/e2e/control-plane';
import { parseOperatorConfig } from '../src/config.js';
import { startOperator, type RunningOperator } from '../src/shell/operator.js';
import { makeService, makeSlice } from './builders.js';

const NS = 'faults';
let cp: ControlPlane;
let api: ReturnType<typeof testApi>;
let proxy: FaultProxy;
let operator: RunningOperator | undefined;
let unhandled: ReturnType<typeof trapUnhandled>;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const slice = (ip: string) => makeSlice(NS, 'web', 'web-abc', [{ ip, node: 'node-1' }]);
const planEndpoints = async () => {
  const plan = (await api.plans('servicenatplans', NS)).find((p) => p.metadata.name === 'web');
  return (plan?.spec?.endpoints ?? []).map((e: { address: string }) => e.address).join(',');
};

/** Moves the slice once more (directly) and waits until the plan holds it and the operator leads. */
async function converged(address: string): Promise<void> {
  await api.apply(slice(address));
  await waitFor(`the plan of ${address}`, async () => ((await planEndpoints()) === address ? true : undefined), 120_000, 500);
  await waitFor('leading', async () => (operator!.isLeader() ? true : undefined), 30_000, 250);
}

beforeAll(async () => {
  unhandled = trapUnhandled();
  cp = await startControlPlane();
  api = testApi(cp.kubeConfig);
  proxy = await FaultProxy.start(cp.server);
  await api.core.createNamespace({ body: { metadata: { name: NS } } });
  await api.create(makeService(NS, 'web'));
  await api.create(slice('10.244.1.5'));
  const parsed = parseOperatorConfig([
    '--metrics-address=127.0.0.1:0', '--cluster-cidrs=10.244.0.0/16', '--leader-election-namespace=kube-system', '--identity=op-1', '--lease-duration=3s', '--log-level=warn',
  ], {}, 'op-1');
  if (!parsed.ok) throw new Error(parsed.errors.join('; '));
  // 5 s instead of 30 s: the blackhole below lasts until the operator's own timeouts end it.
  const access = proxy.adminAccess(cp.certificates, { requestMs: 5000 });
  operator = await startOperator({ kubeConfig: access, config: parsed.config, logger: jsonLogger({ component: 'operator', level: 'warn' }) });
}, 180_000);

afterAll(async () => {
  await operator?.stop();
  await proxy?.stop();
  await cp?.stop();
  unhandled?.release();
});

describe('operator with a failing API server', () => {
  it('survives resets, cut streams, refusals, delays and silence, and converges and leads again after each', async () => {
    await waitFor('the first plan', async () => ((await planEndpoints()) === '10.244.1.5' ? true : undefined), 60_000, 250);

    const faults = healableFaults(proxy);
    let n = 6;
    for (const [what, start] of faults) {
      console.log(new Date().toISOString(), 'fault:', what);
      start();
      await api.apply(slice(`10.244.1.${n++}`));
      // Refusals last longer than the lease (3 s): leadership is lost and must be won back.
      await sleep(what === 'new connections refused' ? 5000 : 3000);
      proxy.heal();
    }
    console.log(new Date().toISOString(), 'healed');
    expect(proxy.stats.resets).toBeGreaterThan(0);
    expect(proxy.stats.ends).toBeGreaterThan(0);
    expect(proxy.stats.refused).toBeGreaterThan(0);
    await converged('10.244.1.98');

    // Connections that never answer (a hung server, a peer gone without a reset), taken
    // by the requests the operator makes after its healthy connections are reset, and
    // left as they are after the heal: only the operator's own timeouts end them.
    proxy.inject({ kind: 'blackhole' });
    proxy.resetAll();
    await api.apply(slice('10.244.1.97'));
    await sleep(5000);
    proxy.heal();
    console.log(new Date().toISOString(), 'healed from the blackhole');
    expect(proxy.stats.swallowed).toBeGreaterThan(0);
    await converged('10.244.1.99');
    expect(unhandled.errors).toEqual([]);
  }, 240_000);
});
