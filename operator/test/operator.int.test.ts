/**
 * The operator on a real API server, driven only through the API: Services, slices, Nodes
 * and policies in, plans out; the write budget (one endpoint change = one ServiceNatPlan
 * write and no NodeNatPlan write, with 50 Nodes present) counted from watches; a restart
 * writes nothing; deleted or edited plans are repaired; policies end in the right status.
 *
 * One API server and operator for the file; each test makes its own namespace, Services
 * and policies (and its own node ports), so tests pass in any order or alone. The 50
 * Nodes are shared and only read (a test that deletes a Node makes its own). A test that
 * asserts something did not happen first waits for `quiesce` (./quiesce.ts), never a sleep.
 */
import { PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jsonLogger } from '@natplan/controller-kit';
import { type ControlPlane, countWrites, startControlPlane, testApi, waitFor } from '@natplan/e2e/control-plane';
import { parseOperatorConfig } from '../src/config.js';
import { startOperator, type RunningOperator } from '../src/shell/operator.js';
import { makeGrant, makeNode, makePolicy, makeService, makeSlice, type EndpointInput } from './builders.js';
import { canary, isCanary, withoutCanary, type Quiescer } from './quiesce.js';

const NODES = 50;
let cp: ControlPlane;
let api: ReturnType<typeof testApi>;
let operator: RunningOperator | undefined;
let quiesce: Quiescer;

/** The operator's own log of its writes ("wrote", one line per API write it made). */
type Written = { msg: string; kind: string; op: string; namespace?: string; name: string };
const written: Written[] = [];

async function runOperator(): Promise<RunningOperator> {
  const parsed = parseOperatorConfig(['--leader-elect=false', '--metrics-address=127.0.0.1:0', '--cluster-cidrs=10.244.0.0/16', '--external-ip-allow-list=192.0.2.0/24', '--log-level=warn'], {}, 'test');
  if (!parsed.ok) throw new Error(parsed.errors.join('; '));
  const logger = jsonLogger({ component: 'operator', level: 'info', write: (line) => { const entry = JSON.parse(line) as Written; if (entry.msg === 'wrote') written.push(entry); } });
  const op = await startOperator({ kubeConfig: cp.kubeConfig, config: parsed.config, logger });
  await waitFor('operator ready', async () => ((await fetch(`${op.http.url}/readyz`)).ok ? true : undefined), 30_000);
  return op;
}

let namespaces = 0;
/** A namespace of the calling test's own; the name is unique whatever order tests run in. */
async function namespace(prefix: string): Promise<string> {
  const name = `${prefix}-${++namespaces}`;
  await api.core.createNamespace({ body: { metadata: { name } } });
  return name;
}

/** Lets `namespace` expose TCP `port` on the nodes' InternalIPs (DESIGN.md §8), as an admin would. */
const grant = (namespace: string, port: number) =>
  api.create(makeGrant(`grant-${namespace}`, { namespaces: { names: [namespace] }, addresses: { fromNode: ['InternalIP'] }, ports: [{ protocol: 'TCP', from: port }] }));

const TWO_ENDPOINTS: EndpointInput[] = [{ ip: '10.244.1.5', node: 'node-1' }, { ip: '10.244.2.5', node: 'node-2' }];

/** Service `web` (NodePort, one allowed and one disallowed external IP) with one slice. */
async function web(namespace: string, endpoints = TWO_ENDPOINTS): Promise<void> {
  await api.create(makeService(namespace, 'web', (s) => { s.spec!.type = 'NodePort'; s.spec!.externalIPs = ['192.0.2.10', '198.51.100.99']; }));
  await api.create(makeSlice(namespace, 'web', 'web-abc', endpoints));
}

async function restartWritesNothing(): Promise<void> {
  await quiesce();
  await operator?.stop();
  operator = undefined;
  const plurals = ['servicenatplans', 'nodenatplans', 'natexposurepolicies'];
  const counters = await Promise.all(plurals.map((p) => countWrites(cp.kubeConfig, p)));
  const before = written.length;
  try {
    operator = await runOperator();
    await quiesce(counters);
    expect(counters.map((c) => withoutCanary(c.counts()))).toEqual([{}, {}, {}]);
    // The operator's own record agrees with the watches: it wrote to the canary and nothing else.
    const since = written.slice(before);
    expect(since.filter((w) => !isCanary(` ${w.namespace ? `${w.namespace}/` : ''}${w.name}`))).toEqual([]);
    // ... and its write metric (fresh since the restart) counts exactly those writes.
    const metrics = await (await fetch(`${operator.http.url}/metrics`)).text();
    const counted = [...metrics.matchAll(/^natplan_operator_writes_total\{[^}]*\} (\d+)$/gm)].reduce((sum, m) => sum + Number(m[1]), 0);
    expect(counted).toBe(since.length);
  } finally {
    for (const c of counters) c.stop();
  }
}

const snpIn = async (namespace: string, name: string) => (await api.plans('servicenatplans', namespace)).find((p) => p.metadata.name === name);
const nnp = async (name: string) => (await api.plans('nodenatplans')).find((p) => p.metadata.name === name);

beforeAll(async () => {
  cp = await startControlPlane();
  api = testApi(cp.kubeConfig);
  for (let i = 1; i <= NODES; i++) {
    await api.create(makeNode(`node-${i}`, `172.18.0.${i + 1}`, (n) => { if (i <= 2) n.metadata!.labels!['natplan.io/edge'] = 'true'; }));
  }
  quiesce = await canary(api, () => `${operator!.http.url}/metrics`);
  operator = await runOperator();
}, 180_000);

afterAll(async () => {
  await operator?.stop();
  await cp?.stop();
});

describe('plans out of Services, slices and Nodes', () => {
  it('a ServiceNatPlan with the Service frontends and the slice endpoints', async () => {
    const ns = await namespace('plan');
    await web(ns);
    const service = await api.core.readNamespacedService({ name: 'web', namespace: ns });
    const plan = await waitFor('plan web', async () => snpIn(ns, 'web'), 20_000);
    expect(plan.metadata.ownerReferences[0]).toMatchObject({ kind: 'Service', name: 'web', uid: service.metadata?.uid, controller: true });
    expect(plan.spec).toMatchObject({
      service: { name: 'web', uid: service.metadata?.uid },
      part: 0,
      clusterIPs: service.spec?.clusterIPs,
      // 198.51.100.99 is outside the external-IP allow-list (CVE-2020-8554) and left out.
      externalIPs: ['192.0.2.10'],
      ports: [{ name: 'http', protocol: 'TCP', port: 80, nodePort: service.spec?.ports?.[0]?.nodePort }],
      endpointCount: 2,
    });
    expect(plan.spec.endpoints.map((e: { address: string; forCluster: boolean }) => [e.address, e.forCluster])).toEqual([['10.244.1.5', true], ['10.244.2.5', true]]);
  });

  it(`a NodeNatPlan for each of the ${NODES} Nodes`, async () => {
    const names = Array.from({ length: NODES }, (_, i) => `node-${i + 1}`);
    const plans = await waitFor('all node plans', async () => {
      const list = await api.plans('nodenatplans');
      return names.every((n) => list.some((p) => p.metadata.name === n)) ? list : undefined;
    }, 30_000);
    const one = plans.find((p) => p.metadata.name === 'node-7');
    expect(one.spec).toMatchObject({ nodeName: 'node-7', zone: 'zone-1', nodePortAddresses: ['172.18.0.8'], clusterCIDRs: ['10.244.0.0/16'], masqueradeAll: false, backend: 'auto' });
    expect(one.metadata.ownerReferences[0]).toMatchObject({ kind: 'Node', name: 'node-7' });
  });

  it('a headless Service gets no plan', async () => {
    const ns = await namespace('headless');
    await api.create(makeService(ns, 'headless', (s) => { s.spec!.clusterIP = 'None'; }));
    await api.create(makeSlice(ns, 'headless', 'headless-1', [{ ip: '10.244.3.3', node: 'node-3' }]));
    await quiesce();
    expect(await snpIn(ns, 'headless')).toBeUndefined();
  });
});

describe('the API write budget', () => {
  it(`one endpoint change: one ServiceNatPlan write, zero NodeNatPlan writes, with ${NODES} Nodes`, async () => {
    const ns = await namespace('budget');
    await web(ns);
    await waitFor('plan web', async () => snpIn(ns, 'web'), 20_000);
    await quiesce();
    const services = await countWrites(cp.kubeConfig, 'servicenatplans');
    const nodes = await countWrites(cp.kubeConfig, 'nodenatplans');
    try {
      await api.discovery.replaceNamespacedEndpointSlice({
        name: 'web-abc', namespace: ns,
        body: makeSlice(ns, 'web', 'web-abc', [...TWO_ENDPOINTS, { ip: '10.244.9.5', node: 'node-9' }]),
      });
      await waitFor('third endpoint in the plan', async () => ((await snpIn(ns, 'web'))?.spec.endpointCount === 3 ? true : undefined), 20_000);
      await quiesce([services, nodes]);
      expect(withoutCanary(services.counts())).toEqual({ [`MODIFIED ${ns}/web`]: 1 });
      expect(withoutCanary(nodes.counts())).toEqual({});
    } finally {
      services.stop();
      nodes.stop();
    }
  });

  it('a restart with nothing changed writes nothing', restartWritesNothing);
});

describe('repair', () => {
  it('a deleted Node takes its plan with it', async () => {
    await api.create(makeNode('doomed', '172.18.1.1'));
    await waitFor('plan of the new node', () => nnp('doomed'), 20_000);
    await api.core.deleteNode({ name: 'doomed' });
    await waitFor('plan of the deleted node gone', async () => ((await nnp('doomed')) ? undefined : true), 20_000);
  });

  it('a plan deleted by hand comes back', async () => {
    const ns = await namespace('deleted-plan');
    await web(ns);
    await waitFor('plan web', async () => snpIn(ns, 'web'), 20_000);
    await api.custom.deleteNamespacedCustomObject({ group: 'natplan.io', version: 'v1alpha1', namespace: ns, plural: 'servicenatplans', name: 'web' });
    const back = await waitFor('plan web restored', async () => snpIn(ns, 'web'), 20_000);
    expect(back.spec.endpointCount).toBe(2);
  });

  it('a plan edited by hand is put back', async () => {
    const ns = await namespace('edited-plan');
    await web(ns);
    const plan = await waitFor('plan web', async () => snpIn(ns, 'web'), 20_000);
    plan.spec.clusterIPs = ['10.96.255.254'];
    await api.custom.replaceNamespacedCustomObject({ group: 'natplan.io', version: 'v1alpha1', namespace: ns, plural: 'servicenatplans', name: 'web', body: plan });
    const service = await api.core.readNamespacedService({ name: 'web', namespace: ns });
    await waitFor('plan web repaired', async () => ((await snpIn(ns, 'web'))?.spec.clusterIPs[0] === service.spec?.clusterIPs?.[0] ? true : undefined), 20_000);
  });

  it('a node plan edited by hand is put back', async () => {
    const plan = await waitFor('plan of node-3', () => nnp('node-3'), 20_000);
    plan.spec.masqueradeAll = true;
    await api.custom.replaceClusterCustomObject({ group: 'natplan.io', version: 'v1alpha1', plural: 'nodenatplans', name: 'node-3', body: plan });
    await waitFor('node-3 repaired', async () => ((await nnp('node-3'))?.spec.masqueradeAll === false ? true : undefined), 20_000);
  });

  it('a deleted Service takes all its plans with it', async () => {
    const ns = await namespace('gone');
    await api.create(makeService(ns, 'gone'));
    await api.create(makeSlice(ns, 'gone', 'gone-1', [{ ip: '10.244.4.4', node: 'node-4' }]));
    await waitFor('plan gone created', async () => snpIn(ns, 'gone'), 20_000);
    await api.core.deleteNamespacedService({ name: 'gone', namespace: ns });
    await waitFor('plan gone deleted', async () => ((await snpIn(ns, 'gone')) ? undefined : true), 20_000);
  });
});

describe('NatExposurePolicy', () => {
  const policyIn = async (namespace: string, name: string) => (await api.plans('natexposurepolicies', namespace)).find((p) => p.metadata.name === name);
  type Cond = { type: string; status: string; reason: string; message: string };
  const condition = (p: { status?: { conditions?: Cond[] } } | undefined, type: string) => p?.status?.conditions?.find((c) => c.type === type);
  /** Waits until the policy reports condition `type` at all, and returns it. */
  const reported = (namespace: string, name: string, type: string) =>
    waitFor(`${namespace}/${name} ${type}`, async () => { const x = await policyIn(namespace, name); return condition(x, type) ? x : undefined; }, 20_000);
  /** A namespace with Service web, granted TCP `port` on the nodes' InternalIPs, and a policy exposing web on the edge nodes there. */
  async function exposed(prefix: string, port: number, name = 'web-edge') {
    const ns = await namespace(prefix);
    await web(ns);
    await grant(ns, port);
    await api.create(makePolicy(ns, name, {
      service: { name: 'web' }, ports: [{ servicePort: 80, externalPort: port, protocol: 'TCP' }],
      nodes: { selector: { matchLabels: { 'natplan.io/edge': 'true' } } }, addresses: { fromNode: 'InternalIP' }, sourceRanges: ['203.0.113.0/24'],
    }));
    return ns;
  }
  const exposuresOn = async (node: string, namespace: string) =>
    ((await nnp(node))?.spec.exposures ?? []).filter((x: { policy: { namespace: string } }) => x.policy.namespace === namespace);

  it('exposes a Service on the selected nodes and reports where it is reachable', async () => {
    const ns = await exposed('exposed', 8080);
    const p = await reported(ns, 'web-edge', 'Accepted');
    expect(condition(p, 'Accepted')).toMatchObject({ status: 'True', observedGeneration: 1 });
    expect(condition(p, 'Conflict')).toMatchObject({ status: 'False' });
    // No agent runs in this test, so nothing is enforced yet.
    expect(condition(p, 'Programmed')).toMatchObject({ status: 'False', reason: 'AwaitingAgents' });
    // kstatus reads Ready: not ready while no agent enforces it, at the generation seen.
    expect(condition(p, 'Ready')).toMatchObject({ status: 'False', reason: 'AwaitingAgents', observedGeneration: 1 });
    expect(p.status.publicEndpoints).toEqual([
      { node: 'node-1', service: 'web', address: '172.18.0.2', port: 8080, protocol: 'TCP', readyEndpoints: 2 },
      { node: 'node-2', service: 'web', address: '172.18.0.3', port: 8080, protocol: 'TCP', readyEndpoints: 2 },
    ]);
    const node1 = await waitFor('exposure on node-1', async () => { const x = await exposuresOn('node-1', ns); return x.length > 0 ? x : undefined; }, 20_000);
    expect(node1).toEqual([{
      policy: { namespace: ns, name: 'web-edge' }, service: 'web', servicePort: 80, address: '172.18.0.2', port: 8080, protocol: 'TCP',
      sourceRanges: ['203.0.113.0/24'], sourceNAT: 'Masquerade',
    }]);
    await quiesce();
    expect(await exposuresOn('node-3', ns)).toEqual([]);
  });

  it('is Ready once the agents of its nodes report their plans enforced', async () => {
    const ns = await exposed('ready', 8082);
    await reported(ns, 'web-edge', 'Accepted');
    // The test plays the agents of node-1 and node-2: Ready at the generation that holds the exposure.
    for (const node of ['node-1', 'node-2']) {
      const plan = await waitFor(`exposure on ${node}`, async () => { const n = await nnp(node); return (n?.spec.exposures ?? []).some((x: { policy: { namespace: string } }) => x.policy.namespace === ns) ? n : undefined; }, 20_000);
      await api.custom.patchClusterCustomObjectStatus({
        group: 'natplan.io', version: 'v1alpha1', plural: 'nodenatplans', name: node,
        body: { apiVersion: 'natplan.io/v1alpha1', kind: 'NodeNatPlan', metadata: { name: node }, status: { observedGeneration: plan.metadata.generation, conditions: [{ type: 'Ready', status: 'True', reason: 'Enforced', message: 'test agent', lastTransitionTime: new Date().toISOString(), observedGeneration: plan.metadata.generation }] } },
      }, setHeaderOptions('Content-Type', PatchStrategy.MergePatch));
    }
    const p = await waitFor('policy ready', async () => { const x = await policyIn(ns, 'web-edge'); return condition(x, 'Ready')?.status === 'True' ? x : undefined; }, 20_000);
    expect(condition(p, 'Programmed')).toMatchObject({ status: 'True' });
    expect(condition(p, 'Ready')).toMatchObject({ status: 'True', reason: 'Ready', observedGeneration: 1 });
  });

  it('a younger policy on the same address and port loses, and says to whom', async () => {
    const ns = await exposed('younger', 8083);
    const older = await reported(ns, 'web-edge', 'Accepted');
    // creationTimestamp has one-second resolution: the younger one must carry a later second.
    const olderSecond = Date.parse(older.metadata.creationTimestamp);
    await waitFor('the clock past the older policy\'s creation second', async () => (Date.now() >= olderSecond + 1000 ? true : undefined), 5_000, 20);
    await api.create(makePolicy(ns, 'web-copy', {
      service: { name: 'web' }, ports: [{ servicePort: 80, externalPort: 8083, protocol: 'TCP' }],
      nodes: { selector: { matchLabels: { 'natplan.io/edge': 'true' } } }, addresses: { fromNode: 'InternalIP' },
    }));
    const p = await reported(ns, 'web-copy', 'Conflict');
    expect(condition(p, 'Conflict')).toMatchObject({ status: 'True', reason: 'AddressPortInUse' });
    expect(condition(p, 'Conflict')?.message).toContain(`${ns}/web-edge`);
    expect(condition(p, 'Ready')).toMatchObject({ status: 'False', reason: 'AddressPortInUse' });
    expect((await policyIn(ns, 'web-edge')).status.publicEndpointCount).toBe(2);
  });

  it('a policy on a Service\'s node port is refused: the node-port range is never claimable', async () => {
    const ns = await namespace('node-port');
    await web(ns);
    await grant(ns, 8080);
    const service = await api.core.readNamespacedService({ name: 'web', namespace: ns });
    const nodePort = service.spec!.ports![0]!.nodePort!;
    await api.create(makePolicy(ns, 'on-node-port', {
      service: { name: 'web' }, ports: [{ servicePort: 80, externalPort: nodePort, protocol: 'TCP' }], addresses: { fromNode: 'InternalIP' },
    }));
    const p = await reported(ns, 'on-node-port', 'Accepted');
    expect(condition(p, 'Accepted')).toMatchObject({ status: 'False', reason: 'NodePortRange' });
    expect(condition(p, 'Accepted')?.message).toContain(`${nodePort}/TCP are in the node-port range 30000-32767`);
  });

  it('a reserved port is refused with a clear condition', async () => {
    const ns = await namespace('reserved');
    await web(ns);
    await grant(ns, 8080);
    await api.create(makePolicy(ns, 'on-kubelet', {
      service: { name: 'web' }, ports: [{ servicePort: 80, externalPort: 10250, protocol: 'TCP' }], addresses: { fromNode: 'InternalIP' },
    }));
    const p = await reported(ns, 'on-kubelet', 'Accepted');
    expect(condition(p, 'Accepted')).toMatchObject({ status: 'False', reason: 'ReservedPort' });
    expect(condition(p, 'Accepted')?.message).toContain('10250');
    expect(p.status.publicEndpointCount).toBe(0);
  });

  it('a policy naming a Service that does not exist is reported, not ignored', async () => {
    const ns = await namespace('nowhere');
    await grant(ns, 8080);
    await api.create(makePolicy(ns, 'to-nowhere', {
      service: { name: 'nowhere' }, ports: [{ servicePort: 80, externalPort: 9443, protocol: 'TCP' }], addresses: { ips: ['198.51.100.7'] },
    }));
    const p = await reported(ns, 'to-nowhere', 'Accepted');
    expect(condition(p, 'Accepted')?.status).toBe('False');
    expect(condition(p, 'Accepted')?.message).toContain('nowhere');
  });

  it('a restart with policies and their status in place writes nothing either', async () => {
    const ns = await exposed('restart', 8084);
    await reported(ns, 'web-edge', 'Accepted');
    await restartWritesNothing();
  });

  it('the operator survives all of this and stays ready', async () => {
    expect((await fetch(`${operator!.http.url}/readyz`)).ok).toBe(true);
    const metrics = await (await fetch(`${operator!.http.url}/metrics`)).text();
    expect(metrics).toContain('# TYPE natplan_operator_writes_total counter');
    expect(metrics).toContain('natplan_controller_reconcile_duration_seconds_bucket');
    expect(metrics).toMatch(/^natplan_build_info\{version="\d+\.\d+\.\d+[^"]*",node_version="v\d+[^"]*",platform="\w+\/\w+"\} 1$/m);
  });
});

describe('who may expose what (NatExposureGrant)', () => {
  type Cond = { type: string; status: string; reason: string; message: string };
  const policyIn = async (namespace: string, name: string) => (await api.plans('natexposurepolicies', namespace)).find((p) => p.metadata.name === name);
  const condition = (p: { status?: { conditions?: Cond[] } } | undefined, type: string) => p?.status?.conditions?.find((c) => c.type === type);
  /** Waits until the policy's condition `type` has `reason`. */
  const reasonOf = (namespace: string, name: string, type: string, reason: string) =>
    waitFor(`${namespace}/${name} ${type} ${reason}`, async () => { const p = await policyIn(namespace, name); return condition(p, type)?.reason === reason ? p : undefined; }, 20_000);
  const exposuresOf = async (namespace: string) => (await api.plans('nodenatplans'))
    .flatMap((n) => (n.spec.exposures ?? []) as { policy: { namespace: string } }[]).filter((x) => x.policy.namespace === namespace);
  const setLabels = async (name: string, labels: Record<string, string>) => {
    const ns = await api.core.readNamespace({ name });
    ns.metadata!.labels = { ...labels, 'kubernetes.io/metadata.name': name };
    await api.core.replaceNamespace({ name, body: ns });
  };
  /** A team's namespace with Service api (one endpoint, on node-3). */
  async function team(prefix: string): Promise<string> {
    const ns = await namespace(prefix);
    await api.create(makeService(ns, 'api', (s) => { s.spec!.type = 'ClusterIP'; }));
    await api.create(makeSlice(ns, 'api', 'api-1', [{ ip: '10.244.3.7', node: 'node-3' }]));
    return ns;
  }
  /** An attacker's namespace with Service dns (UDP 53 and TCP 80, one endpoint on node-4). */
  async function evil(): Promise<string> {
    const ns = await namespace('evil');
    await api.create(makeService(ns, 'dns', (s) => { s.spec!.ports = [{ name: 'dns', port: 53, targetPort: 5353, protocol: 'UDP' }, { name: 'http', port: 80, targetPort: 8080, protocol: 'TCP' }]; }));
    await api.create(makeSlice(ns, 'dns', 'dns-1', [{ ip: '10.244.4.9', node: 'node-4' }]));
    return ns;
  }
  const edgePolicy = (ns: string, name: string, port: number) => api.create(makePolicy(ns, name, {
    service: { name: 'api' }, ports: [{ servicePort: 80, externalPort: port, protocol: 'TCP' }],
    nodes: { selector: { matchLabels: { 'natplan.io/edge': 'true' } } }, addresses: { fromNode: 'InternalIP' },
  }));

  it('without a grant for its namespace nothing is exposed, and the policy says why', async () => {
    const ns = await team('no-grant');
    await edgePolicy(ns, 'api-edge', 8086);
    const p = await reasonOf(ns, 'api-edge', 'Accepted', 'NotGranted');
    expect(condition(p, 'Accepted')).toMatchObject({ status: 'False' });
    expect(condition(p, 'Accepted')?.message).toContain(`no NatExposureGrant allows namespace ${ns} to claim node InternalIP 8086/TCP`);
    expect(condition(p, 'Programmed')?.status).toBe('False');
    await quiesce();
    expect(await exposuresOf(ns)).toEqual([]);
  });

  it('a grant selecting the namespace by label exposes it; removing the label withdraws it', async () => {
    const ns = await team('by-label');
    await edgePolicy(ns, 'api-edge', 8087);
    await reasonOf(ns, 'api-edge', 'Accepted', 'NotGranted');
    await api.create(makeGrant(`teams-${ns}`, {
      namespaces: { selector: { matchLabels: { 'natplan.io/expose': ns } } }, addresses: { fromNode: ['InternalIP'] }, ports: [{ protocol: 'TCP', from: 8081, to: 8089 }],
    }));
    await setLabels(ns, { 'natplan.io/expose': ns });
    const p = await reasonOf(ns, 'api-edge', 'Accepted', 'Accepted');
    expect(p.status.publicEndpoints.map((e: { node: string; address: string; port: number }) => `${e.node} ${e.address}:${e.port}`)).toEqual(['node-1 172.18.0.2:8087', 'node-2 172.18.0.3:8087']);
    await waitFor(`exposures of ${ns} on the node plans`, async () => ((await exposuresOf(ns)).length === 2 ? true : undefined), 20_000);
    await setLabels(ns, {});
    await reasonOf(ns, 'api-edge', 'Accepted', 'NotGranted');
    await waitFor(`exposures of ${ns} withdrawn`, async () => ((await exposuresOf(ns)).length === 0 ? true : undefined), 20_000);
    await setLabels(ns, { 'natplan.io/expose': ns });
    await reasonOf(ns, 'api-edge', 'Accepted', 'Accepted');
  });

  it('a port outside the grant is refused even in a granted namespace', async () => {
    const ns = await team('outside');
    await grant(ns, 8088);
    await api.create(makePolicy(ns, 'api-wide', {
      service: { name: 'api' }, ports: [{ servicePort: 80, externalPort: 8090, protocol: 'TCP' }], addresses: { fromNode: 'InternalIP' },
    }));
    const p = await reasonOf(ns, 'api-wide', 'Accepted', 'NotGranted');
    expect(condition(p, 'Accepted')?.message).toContain('node InternalIP 8090/TCP');
  });

  it('finding 1: a namespace cannot claim an outside host\'s address', async () => {
    const ns = await evil();
    await api.create(makePolicy(ns, 'hijack', {
      service: { name: 'dns' }, addresses: { ips: ['192.0.2.200'] },
      ports: [{ servicePort: 53, externalPort: 9953, protocol: 'UDP' }, { servicePort: 80, externalPort: 9980, protocol: 'TCP' }],
    }));
    const p = await reasonOf(ns, 'hijack', 'Accepted', 'NotGranted');
    expect(condition(p, 'Programmed')?.status).toBe('False');
    await quiesce();
    expect(await exposuresOf(ns)).toEqual([]);
  });

  it('finding 5: a claim on another Service\'s cluster IP is a Conflict naming that Service', async () => {
    const victim = await namespace('victim');
    await web(victim);
    const ns = await evil();
    const clusterIP = (await api.core.readNamespacedService({ name: 'web', namespace: victim })).spec!.clusterIP!;
    await api.create(makePolicy(ns, 'steal-web-ip', {
      service: { name: 'dns' }, addresses: { ips: [clusterIP] }, ports: [{ servicePort: 53, externalPort: 53, protocol: 'UDP' }],
    }));
    const p = await reasonOf(ns, 'steal-web-ip', 'Conflict', 'ClusterIPInUse');
    expect(condition(p, 'Conflict')).toMatchObject({ status: 'True' });
    expect(condition(p, 'Conflict')?.message).toContain(`${clusterIP} is the cluster IP of Service ${victim}/web`);
    expect(condition(p, 'Programmed')?.status).toBe('False');
    await quiesce();
    expect(await exposuresOf(ns)).toEqual([]);
  });

  it('the API server\'s address and port, from the endpoints of default/kubernetes, are never claimed', async () => {
    const ns = await team('apiserver');
    await grant(ns, 8085);
    await edgePolicy(ns, 'api-edge', 8085);
    await reasonOf(ns, 'api-edge', 'Accepted', 'Accepted');
    // The test API server runs with --endpoint-reconciler-type=none; this slice is what a
    // real one writes for itself (removed again, so no other test meets it).
    await api.create(makeSlice('default', 'kubernetes', 'kubernetes', [{ ip: '172.18.0.2', node: 'node-1' }], 8085));
    try {
      const p = await reasonOf(ns, 'api-edge', 'Conflict', 'AddressPortInUse');
      expect(condition(p, 'Conflict')?.message).toContain('172.18.0.2:8085/TCP on node node-1 is held by the API server (172.18.0.2:8085)');
      expect(p.status.publicEndpoints.map((e: { node: string }) => e.node)).toEqual(['node-2']);
    } finally {
      await api.discovery.deleteNamespacedEndpointSlice({ name: 'kubernetes', namespace: 'default' });
    }
  });
});
