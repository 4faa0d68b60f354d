/**
 * A positive signal that the operator has processed everything the test did so far, for
 * tests that assert that something did NOT happen (no plan, no write). Instead of sleeping,
 * the test makes a later change through each informer the operator reads (a canary
 * Service, its slice, its plan, a canary Node and its plan), waits until the operator
 * answered each one, then waits until every work queue is empty with nothing in flight.
 * Informers deliver events in resourceVersion order, so once the operator answered the
 * canary change it has already queued every earlier event; an empty, idle queue then
 * means those were reconciled too. Write counters are read only after their watch
 * delivered the canary's last write (`WriteCounter.saw`).
 */
import { PatchStrategy, type KubernetesObject, type V1EndpointSlice, type V1Node, type V1Service } from '@kubernetes/client-node';
import { waitFor } from '@natplan/e2e/control-plane';
import type { testApi, WriteCounter } from '@natplan/e2e/control-plane';
import { makeNode, makePolicy, makeService, makeSlice } from './builders.js';

type Api = ReturnType<typeof testApi>;
/** Any natplan object read back as JSON. */
type Plan = any; // eslint-disable-line @typescript-eslint/no-explicit-any

export const CANARY_NS = 'canary';
export const CANARY_NODE = 'canary-node';
const GROUP = { group: 'natplan.io', version: 'v1alpha1' };

/** Whether a write-counter key ("MODIFIED ns/name") belongs to the canary. */
export const isCanary = (key: string) => key.includes(` ${CANARY_NS}/`) || key.endsWith(` ${CANARY_NODE}`);

/** Counts without the canary's own writes. */
export const withoutCanary = (counts: Record<string, number>) => Object.fromEntries(Object.entries(counts).filter(([key]) => !isCanary(key)));

export interface Quiescer {
  /**
   * Resolves once the operator processed every event before the call (see the file
   * comment), with the resourceVersions of the natplan objects the barrier itself wrote
   * (hand edits, not the operator's writes).
   */
  (counters?: WriteCounter[]): Promise<Set<string>>;
}

/** Creates the canary objects (call once, before the operator starts or after) and returns the barrier. */
export async function canary(api: Api, metricsUrl: () => string): Promise<Quiescer> {
  await api.core.createNamespace({ body: { metadata: { name: CANARY_NS } } });
  await api.create(makeNode(CANARY_NODE, '172.18.2.1'));
  await api.create(makeService(CANARY_NS, 'canary', (s) => { s.spec!.externalIPs = ['192.0.2.100']; }));
  await api.create(makeSlice(CANARY_NS, 'canary', 'canary-1', [{ ip: '10.244.200.1', node: CANARY_NODE }]));
  // Never granted: it only gives the policy watch a write of the test's own to wait for.
  await api.create(makePolicy(CANARY_NS, 'canary', { service: { name: 'canary' }, ports: [{ servicePort: 80, externalPort: 9999, protocol: 'TCP' }], addresses: { ips: ['192.0.2.100'] } }));
  let round = 0;
  const snp = async () => (await api.plans('servicenatplans', CANARY_NS)).find((p) => p.metadata.name === 'canary') as Plan;
  const nnp = async () => (await api.plans('nodenatplans')).find((p) => p.metadata.name === CANARY_NODE) as Plan;

  /** Read-modify-write, retried on a conflict with the operator's own writes. */
  async function edit<T>(what: string, read: () => Promise<T>, change: (o: T) => void, write: (o: T) => Promise<unknown>): Promise<string | undefined> {
    const written = await waitFor(`edit ${what}`, async () => { const o = await read(); change(o); return write(o); }, 20_000);
    return (written as { metadata?: { resourceVersion?: string } }).metadata?.resourceVersion;
  }

  return async function quiesce(counters: WriteCounter[] = []): Promise<Set<string>> {
    round++;
    const externalIP = `192.0.2.${100 + (round % 100)}`;
    const endpoint = `10.244.200.${1 + (round % 250)}`;
    const zone = `zone-canary-${round}`;
    // Services informer.
    await edit('canary Service', () => api.core.readNamespacedService({ name: 'canary', namespace: CANARY_NS }), (s: V1Service) => { s.spec!.externalIPs = [externalIP]; },
      (s) => api.core.replaceNamespacedService({ name: 'canary', namespace: CANARY_NS, body: s }));
    await waitFor('canary plan has the new external IP', async () => ((await snp())?.spec.externalIPs?.[0] === externalIP ? true : undefined), 20_000);
    // EndpointSlices informer.
    await edit('canary slice', () => api.discovery.readNamespacedEndpointSlice({ name: 'canary-1', namespace: CANARY_NS }), (e: V1EndpointSlice) => { e.endpoints[0]!.addresses = [endpoint]; },
      (e) => api.discovery.replaceNamespacedEndpointSlice({ name: 'canary-1', namespace: CANARY_NS, body: e }));
    await waitFor('canary plan has the new endpoint', async () => ((await snp())?.spec.endpoints?.[0]?.address === endpoint ? true : undefined), 20_000);
    // Nodes informer.
    await edit('canary Node', () => api.core.readNode({ name: CANARY_NODE }), (n: V1Node) => { n.metadata!.labels!['topology.kubernetes.io/zone'] = zone; },
      (n) => api.core.replaceNode({ name: CANARY_NODE, body: n }));
    await waitFor('canary node plan has the new zone', async () => ((await nnp())?.spec.zone === zone ? true : undefined), 20_000);
    // ServiceNatPlans and NodeNatPlans informers: a hand edit the operator puts back.
    const own = new Set<string>();
    own.add((await edit('canary plan', snp, (p: Plan) => { p.spec.externalIPs = ['192.0.2.99']; },
      (p) => api.custom.replaceNamespacedCustomObject({ ...GROUP, namespace: CANARY_NS, plural: 'servicenatplans', name: 'canary', body: p })))!);
    await waitFor('canary plan repaired', async () => ((await snp())?.spec.externalIPs?.[0] === externalIP ? true : undefined), 20_000);
    own.add((await edit('canary node plan', nnp, (p: Plan) => { p.spec.masqueradeAll = true; },
      (p) => api.custom.replaceClusterCustomObject({ ...GROUP, plural: 'nodenatplans', name: CANARY_NODE, body: p })))!);
    await waitFor('canary node plan repaired', async () => ((await nnp())?.spec.masqueradeAll === false ? true : undefined), 20_000);
    await waitFor('every work queue empty and idle', async () => (idle(await (await fetch(metricsUrl())).text()) ? true : undefined), 20_000);
    if (counters.length === 0) return own;
    // The operator writes nothing more: the newest canary versions are the last writes before now.
    const policy = await api.objects.patch<KubernetesObject>(
      { apiVersion: 'natplan.io/v1alpha1', kind: 'NatExposurePolicy', metadata: { name: 'canary', namespace: CANARY_NS, labels: { 'natplan.io/test-round': String(round) } } },
      undefined, undefined, 'natplan-test', undefined, PatchStrategy.MergePatch,
    );
    own.add(policy.metadata!.resourceVersion!);
    const last = [(await snp()).metadata.resourceVersion as string, (await nnp()).metadata.resourceVersion as string, policy.metadata!.resourceVersion!];
    await waitFor('write counters caught up with the canary', async () => (counters.every((c) => last.some((rv) => c.saw(rv))) ? true : undefined), 20_000);
    return own;
  };
}

/** Whether the scrape shows at least one work queue and all of them empty with nothing in flight. */
export function idle(metrics: string): boolean {
  const samples = [...metrics.matchAll(/^natplan_workqueue_(depth|in_flight)\{controller="[^"]+"\} (\S+)$/gm)];
  return samples.length > 0 && samples.every((m) => Number(m[2]) === 0);
}
