/**
 * What the API server refuses, and what the planner leaves out, is visible where users
 * look — on a real API server, with its own control plane and namespace so no other
 * test's leftovers matter: a Service with 3,000 ports makes a ServiceNatPlan the CRD
 * schema refuses (422); the operator says so in an Event on the Service and in metrics,
 * does not retry it on its own, retries once per change of the Service's inputs, and
 * writes the plan once the Service is fixed. A planner warning becomes an Event too.
 */
import { EventsV1Api, type V1Service } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jsonLogger } from '@natplan/controller-kit';
import { type ControlPlane, startControlPlane, testApi, waitFor } from '@natplan/e2e/control-plane';
import { parseOperatorConfig } from '../src/config.js';
import { startOperator, type RunningOperator } from '../src/shell/operator.js';
import { makeService, makeSlice } from './builders.js';

const NS = 'refusals';
let cp: ControlPlane;
let api: ReturnType<typeof testApi>;
let operator: RunningOperator;

beforeAll(async () => {
  cp = await startControlPlane();
  api = testApi(cp.kubeConfig);
  await api.core.createNamespace({ body: { metadata: { name: NS } } });
  const parsed = parseOperatorConfig(['--leader-elect=false', '--metrics-address=127.0.0.1:0', '--cluster-cidrs=10.244.0.0/16', '--external-ip-allow-list=192.0.2.0/24', '--log-level=error'], {}, 'test');
  if (!parsed.ok) throw new Error(parsed.errors.join('; '));
  operator = await startOperator({ kubeConfig: cp.kubeConfig, config: parsed.config, logger: jsonLogger({ component: 'operator', level: 'error' }) });
}, 180_000);

afterAll(async () => {
  await operator?.stop();
  await cp?.stop();
});

interface EventView { type: string; reason: string; note: string; regarding: { kind: string; name: string } }

async function eventsAbout(name: string): Promise<EventView[]> {
  const list = await cp.kubeConfig.makeApiClient(EventsV1Api).listNamespacedEvent({ namespace: NS });
  return list.items
    .filter((e) => e.regarding?.kind === 'Service' && e.regarding.name === name)
    .map((e) => ({ type: e.type ?? '', reason: e.reason ?? '', note: e.note ?? '', regarding: { kind: e.regarding!.kind!, name: e.regarding!.name! } }));
}

/** The value of one sample of the operator's /metrics, 0 when absent. */
async function metric(name: string, labels: Record<string, string>): Promise<number> {
  const text = await (await fetch(`${operator.http.url}/metrics`)).text();
  const want = Object.entries(labels).map(([k, v]) => `${k}="${v}"`);
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`)) continue;
    const labelText = line.slice(name.length + 1, line.indexOf('}'));
    if (want.every((w) => labelText.split(',').includes(w))) return Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return 0;
}

const refusedAttempts = () => metric('natplan_plan_errors_total', { kind: 'ServiceNatPlan', class: 'permanent', reason: 'Invalid' });
const rejectedNow = () => metric('natplan_plans_rejected', { kind: 'ServiceNatPlan' });
/** Rate-limited retries the Service controller scheduled (the operator reconciles with no timed requeue otherwise). */
const retriesScheduled = () => metric('natplan_workqueue_retries_total', { controller: 'services' });
const plan = async (name: string) => (await api.plans('servicenatplans', NS)).find((p) => p.metadata.name === name);

let probes = 0;
/** A barrier: a fresh Service's plan appears, so every event queued before it has been handled. */
async function operatorCaughtUp(): Promise<void> {
  const name = `probe-${++probes}`;
  await api.create(makeService(NS, name));
  await waitFor(`plan ${name}`, () => plan(name), 20_000);
}

const manyPorts = (count: number, app: string): V1Service['spec'] => ({
  type: 'ClusterIP', selector: { app },
  // The first port is named like the test slices' port, so their endpoints serve it.
  ports: Array.from({ length: count }, (_, i) => ({ name: i === 0 ? 'http' : `p${i + 1}`, port: 10_000 + i, targetPort: 10_000 + i, protocol: 'TCP' })),
});

/**
 * Creates a Service with 3,000 ports (each test its own, so tests pass in any order) and
 * waits for its refusal; returns the counters as they were just before.
 */
async function refused(name: string): Promise<{ attempts: number; rejected: number; retries: number }> {
  const before = { attempts: await refusedAttempts(), rejected: await rejectedNow(), retries: await retriesScheduled() };
  await api.create(makeService(NS, name, (s) => { s.spec = manyPorts(3000, name); }));
  await waitFor(`PlanRejected event for ${name}`, async () => (await eventsAbout(name)).find((e) => e.reason === 'PlanRejected'), 30_000);
  return before;
}

describe('a plan the API server refuses', () => {
  it('a Service with 3,000 ports: a PlanRejected Event with the API message, counted, and not retried on a timer', async () => {
    const before = await refused('big');
    const rejected = (await eventsAbout('big')).find((e) => e.reason === 'PlanRejected')!;
    expect(rejected.type).toBe('Warning');
    // The API server's own words: the CRD schema allows 128 ports per plan.
    expect(rejected.note).toMatch(/Invalid.*spec\.ports.*128/s);
    expect(await rejectedNow()).toBe(before.rejected + 1);
    expect(await refusedAttempts()).toBe(before.attempts + 1);

    // After a barrier: no retry was scheduled (a retry loop, even client-go's 5 ms doubling
    // backoff, goes through the rate-limited queue and counts here), and none was made.
    await operatorCaughtUp();
    expect(await retriesScheduled()).toBe(before.retries);
    expect(await refusedAttempts()).toBe(before.attempts + 1);
    expect(await plan('big')).toBeUndefined();
  });

  it('a change of its inputs (an EndpointSlice) tries once more, and the same refusal is not reported twice', async () => {
    const first = await refused('big-sliced');
    await api.create(makeSlice(NS, 'big-sliced', 'big-sliced-1', [{ ip: '10.244.1.9', node: 'node-1' }], 10_000));
    await waitFor('one more attempt', async () => ((await refusedAttempts()) === first.attempts + 2 ? true : undefined), 20_000);
    await operatorCaughtUp();
    expect(await refusedAttempts()).toBe(first.attempts + 2);
    expect((await eventsAbout('big-sliced')).filter((e) => e.reason === 'PlanRejected')).toHaveLength(1);
  });

  it('fixing the Service writes its plan and clears the rejection', async () => {
    const before = await refused('big-fixed');
    await api.create(makeSlice(NS, 'big-fixed', 'big-fixed-1', [{ ip: '10.244.1.10', node: 'node-1' }], 10_000));
    const service = await api.core.readNamespacedService({ name: 'big-fixed', namespace: NS });
    service.spec!.ports = manyPorts(2, 'big-fixed')!.ports;
    await api.core.replaceNamespacedService({ name: 'big-fixed', namespace: NS, body: service });
    const written = await waitFor('plan big-fixed', () => plan('big-fixed'), 20_000);
    expect(written.spec.ports).toHaveLength(2);
    expect(written.spec.endpointCount).toBe(1);
    await waitFor('rejection cleared', async () => ((await rejectedNow()) === before.rejected ? true : undefined), 10_000);
    const accepted = await waitFor('PlanAccepted event', async () => (await eventsAbout('big-fixed')).find((e) => e.reason === 'PlanAccepted'), 10_000);
    expect(accepted.type).toBe('Normal');
  });
});

describe('planner warnings', () => {
  it('an external IP outside the allow-list is left out of the plan and reported on the Service', async () => {
    await api.create(makeService(NS, 'outside', (s) => { s.spec!.externalIPs = ['192.0.2.20', '198.51.100.99']; }));
    const written = await waitFor('plan outside', () => plan('outside'), 20_000);
    expect(written.spec.externalIPs).toEqual(['192.0.2.20']);
    const warning = await waitFor('ExternalIPNotAllowed event', async () => (await eventsAbout('outside')).find((e) => e.reason === 'ExternalIPNotAllowed'), 10_000);
    expect(warning.type).toBe('Warning');
    expect(warning.note).toContain('198.51.100.99');
  });
});
