/**
 * `--mode=complement` end to end, from the command-line flag to the plans on a real API
 * server: only Services labelled service.kubernetes.io/service-proxy-name=natplan are
 * planned; taking the label away takes the plan away. (A single-dash `-mode=complement`
 * is refused by the flag parser: bin/natplan.int.test.ts.)
 */
import { PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jsonLogger } from '@natplan/controller-kit';
import { type ControlPlane, startControlPlane, testApi, waitFor } from '@natplan/e2e/control-plane';
import { parseOperatorConfig } from '../src/config.js';
import { SERVICE_PROXY_NAME_LABEL } from '../src/planner/index.js';
import { startOperator, type RunningOperator } from '../src/shell/operator.js';
import { makeNode, makeService, makeSlice } from './builders.js';
import { idle } from './quiesce.js';

const NS = 'mixed';
let cp: ControlPlane;
let api: ReturnType<typeof testApi>;
let operator: RunningOperator | undefined;

const plan = async (service: string) => (await api.plans('servicenatplans', NS)).find((p) => p.metadata.name === service);
const label = (service: string, value: string | null) => api.core.patchNamespacedService(
  { name: service, namespace: NS, body: { metadata: { labels: { [SERVICE_PROXY_NAME_LABEL]: value } } } },
  setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
);

beforeAll(async () => {
  cp = await startControlPlane();
  api = testApi(cp.kubeConfig);
  await api.core.createNamespace({ body: { metadata: { name: NS } } });
  await api.create(makeNode('node-1', '172.18.0.2'));
  // Unlabelled first, so by the time the labelled one is planned the operator has seen both.
  await api.create(makeService(NS, 'kube-proxy-keeps'));
  await api.create(makeSlice(NS, 'kube-proxy-keeps', 'kube-proxy-keeps-a', [{ ip: '10.244.1.5', node: 'node-1' }]));
  await api.create(makeService(NS, 'natplan-takes', (s) => { s.metadata!.labels = { [SERVICE_PROXY_NAME_LABEL]: 'natplan' }; }));
  await api.create(makeSlice(NS, 'natplan-takes', 'natplan-takes-a', [{ ip: '10.244.1.6', node: 'node-1' }]));
  const parsed = parseOperatorConfig(['--mode=complement', '--leader-elect=false', '--metrics-address=127.0.0.1:0', '--cluster-cidrs=10.244.0.0/16', '--log-level=warn'], {}, 'test');
  if (!parsed.ok) throw new Error(parsed.errors.join('; '));
  expect(parsed.config.planner.mode).toBe('complement');
  operator = await startOperator({ kubeConfig: cp.kubeConfig, config: parsed.config, logger: jsonLogger({ component: 'operator', level: 'warn' }) });
}, 180_000);

afterAll(async () => {
  await operator?.stop();
  await cp?.stop();
});

describe('complement mode', () => {
  it('plans only the Service labelled for natplan', async () => {
    await waitFor('plan of the labelled Service', () => plan('natplan-takes'), 30_000);
    // Both Services came in the same initial list, so both keys were queued before this plan
    // was written; an empty, idle queue means the unlabelled one was reconciled too.
    await waitFor('work queues idle', async () => (idle(await (await fetch(`${operator!.http.url}/metrics`)).text()) ? true : undefined), 20_000);
    expect(await plan('kube-proxy-keeps')).toBeUndefined();
  });

  it('follows the label: adding it plans the Service, removing it withdraws the plan', async () => {
    await label('kube-proxy-keeps', 'natplan');
    await waitFor('plan once labelled', () => plan('kube-proxy-keeps'), 30_000);
    await label('kube-proxy-keeps', null);
    await waitFor('plan withdrawn once unlabelled', async () => ((await plan('kube-proxy-keeps')) ? undefined : true), 30_000);
    await waitFor('the labelled Service keeps its plan', () => plan('natplan-takes'), 30_000);
  });
});
