/**
 * The operator on a real API server, driven only through the API: Services, slices, Nodes
 * and policies in, plans out; the write budget (one endpoint change = one ServiceNatPlan
 * write and no NodeNatPlan write, with 50 Nodes present) counted from watches; a restart
 * writes nothing; deleted or edited plans are repaired; policies end in the right status.
 */
import { PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jsonLogger } from '@natplan/controller-kit';
import { startControlPlane, waitFor, type ControlPlane } from '@natplan/e2e/control-plane';
import { parseOperatorConfig } from '../src/config.js';
import { startOperator, type RunningOperator } from '../src/shell/operator.js';
import { countWrites, testApi } from '@natplan/e2e/control-plane';
import { makeGrant, makeNode, makePolicy, makeService, makeSlice } from './builders.js';

const NODES = 50;
const NS = 'shop';
let cp: ControlPlane;
let api: ReturnType<typeof testApi>;
let operator: RunningOperator | undefined;

async function runOperator(): Promise<RunningOperator> {
  const parsed = parseOperatorConfig(['--leader-elect=false', '--metrics-address=127.0.0.1:0', '--cluster-cidrs=10.244.0.0/16', '--external-ip-allow-list=192.0.2.0/24', '--log-level=warn'], {}, 'test');
  if (!parsed.ok) throw new Error(parsed.errors.join('; '));
  const op = await startOperator({ kubeConfig: cp.kubeConfig, config: parsed.config, logger: jsonLogger({ component: 'operator', level: 'warn' }) });
  await waitFor('operator ready', async () => ((await fetch(`${op.http.url}/readyz`)).ok ? true : undefined), 30_000);
  return op;
}

async function restartWritesNothing(): Promise<void> {
  await operator?.stop();
  operator = undefined;
  const counters = await Promise.all(['servicenatplans', 'nodenatplans', 'natexposurepolicies'].map((p) => countWrites(cp.kubeConfig, p)));
  try {
    operator = await runOperator();
    await settle(2500);
    expect(counters.map((c) => c.counts())).toEqual([{}, {}, {}]);
  } finally {
    for (const c of counters) c.stop();
  }
}

const settle = (ms = 1500) => new Promise((r) => setTimeout(r, ms));
const snp = async (name: string) => (await api.plans('servicenatplans', NS)).find((p) => p.metadata.name === name);
const nnp = async (name: string) => (await api.plans('nodenatplans')).find((p) => p.metadata.name === name);

beforeAll(async () => {
  cp = await startControlPlane();
  api = testApi(cp.kubeConfig);
  await api.core.createNamespace({ body: { metadata: { name: NS } } });
  for (let i = 1; i <= NODES; i++) {
    await api.create(makeNode(`node-${i}`, `172.18.0.${i + 1}`, (n) => { if (i <= 2) n.metadata!.labels!['natplan.io/edge'] = 'true'; }));
  }
  await api.create(makeService(NS, 'web', (s) => { s.spec!.type = 'NodePort'; s.spec!.externalIPs = ['192.0.2.10', '198.51.100.99']; }));
  await api.create(makeSlice(NS, 'web', 'web-abc', [{ ip: '10.244.1.5', node: 'node-1' }, { ip: '10.244.2.5', node: 'node-2' }]));
  // The admin lets the shop expose TCP 8080 on the nodes' InternalIPs (DESIGN.md §8).
  await api.create(makeGrant('shop-web', { namespaces: { names: [NS] }, addresses: { fromNode: ['InternalIP'] }, ports: [{ protocol: 'TCP', from: 8080 }] }));
  operator = await runOperator();
}, 180_000);

afterAll(async () => {
  await operator?.stop();
  await cp?.stop();
});

describe('plans out of Services, slices and Nodes', () => {
  it('a ServiceNatPlan with the Service frontends and the slice endpoints', async () => {
    const service = await api.core.readNamespacedService({ name: 'web', namespace: NS });
    const plan = await waitFor('plan web', async () => snp('web'), 20_000);
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
    const plans = await waitFor('all node plans', async () => {
      const list = await api.plans('nodenatplans');
      return list.length === NODES ? list : undefined;
    }, 30_000);
    const one = plans.find((p) => p.metadata.name === 'node-7');
    expect(one.spec).toMatchObject({ nodeName: 'node-7', zone: 'zone-1', nodePortAddresses: ['172.18.0.8'], clusterCIDRs: ['10.244.0.0/16'], masqueradeAll: false, backend: 'auto' });
    expect(one.metadata.ownerReferences[0]).toMatchObject({ kind: 'Node', name: 'node-7' });
  });

  it('a headless Service gets no plan', async () => {
    await api.create(makeService(NS, 'headless', (s) => { s.spec!.clusterIP = 'None'; }));
    await api.create(makeSlice(NS, 'headless', 'headless-1', [{ ip: '10.244.3.3', node: 'node-3' }]));
    await settle();
    expect(await snp('headless')).toBeUndefined();
  });
});

describe('the API write budget', () => {
  it(`one endpoint change: one ServiceNatPlan write, zero NodeNatPlan writes, with ${NODES} Nodes`, async () => {
    await settle();
    const services = await countWrites(cp.kubeConfig, 'servicenatplans');
    const nodes = await countWrites(cp.kubeConfig, 'nodenatplans');
    try {
      await api.discovery.replaceNamespacedEndpointSlice({
        name: 'web-abc', namespace: NS,
        body: makeSlice(NS, 'web', 'web-abc', [{ ip: '10.244.1.5', node: 'node-1' }, { ip: '10.244.2.5', node: 'node-2' }, { ip: '10.244.9.5', node: 'node-9' }]),
      });
      await waitFor('third endpoint in the plan', async () => ((await snp('web'))?.spec.endpointCount === 3 ? true : undefined), 20_000);
      await settle();
      expect(services.counts()).toEqual({ 'MODIFIED shop/web': 1 });
      expect(nodes.total()).toBe(0);
    } finally {
      services.stop();
      nodes.stop();
    }
  });

  it('a restart with nothing changed writes nothing', restartWritesNothing);
});

describe('repair', () => {
  it('a deleted Node takes its plan with it', async () => {
    await api.core.deleteNode({ name: `node-${NODES}` });
    await waitFor('plan of the deleted node gone', async () => ((await nnp(`node-${NODES}`)) ? undefined : true), 20_000);
  });

  it('a plan deleted by hand comes back', async () => {
    await api.custom.deleteNamespacedCustomObject({ group: 'natplan.io', version: 'v1alpha1', namespace: NS, plural: 'servicenatplans', name: 'web' });
    const back = await waitFor('plan web restored', async () => snp('web'), 20_000);
    expect(back.spec.endpointCount).toBe(3);
  });

  it('a plan edited by hand is put back', async () => {
    const plan = await snp('web');
    plan.spec.clusterIPs = ['10.96.255.254'];
    await api.custom.replaceNamespacedCustomObject({ group: 'natplan.io', version: 'v1alpha1', namespace: NS, plural: 'servicenatplans', name: 'web', body: plan });
    const service = await api.core.readNamespacedService({ name: 'web', namespace: NS });
    await waitFor('plan web repaired', async () => ((await snp('web'))?.spec.clusterIPs[0] === service.spec?.clusterIPs?.[0] ? true : undefined), 20_000);
  });

  it('a node plan edited by hand is put back', async () => {
    const plan = await nnp('node-3');
    plan.spec.masqueradeAll = true;
    await api.custom.replaceClusterCustomObject({ group: 'natplan.io', version: 'v1alpha1', plural: 'nodenatplans', name: 'node-3', body: plan });
    await waitFor('node-3 repaired', async () => ((await nnp('node-3'))?.spec.masqueradeAll === false ? true : undefined), 20_000);
  });

  it('a deleted Service takes all its plans with it', async () => {
    await api.create(makeService(NS, 'gone'));
    await api.create(makeSlice(NS, 'gone', 'gone-1', [{ ip: '10.244.4.4', node: 'node-4' }]));
    await waitFor('plan gone created', async () => snp('gone'), 20_000);
    await api.core.deleteNamespacedService({ name: 'gone', namespace: NS });
    await waitFor('plan gone deleted', async () => ((await snp('gone')) ? undefined : true), 20_000);
  });
});

describe('NatExposurePolicy', () => {
  const policy = async (name: string) => (await api.plans('natexposurepolicies', NS)).find((p) => p.metadata.name === name);
  type Cond = { type: string; status: string; reason: string; message: string };
  const condition = (p: { status?: { conditions?: Cond[] } } | undefined, type: string) => p?.status?.conditions?.find((c) => c.type === type);

  it('exposes a Service on the selected nodes and reports where it is reachable', async () => {
    await api.create(makePolicy(NS, 'web-edge', {
      service: { name: 'web' }, ports: [{ servicePort: 80, externalPort: 8080, protocol: 'TCP' }],
      nodes: { selector: { matchLabels: { 'natplan.io/edge': 'true' } } }, addresses: { fromNode: 'InternalIP' }, sourceRanges: ['203.0.113.0/24'],
    }));
    const p = await waitFor('policy accepted', async () => { const x = await policy('web-edge'); return condition(x, 'Accepted') ? x : undefined; }, 20_000);
    expect(condition(p, 'Accepted')).toMatchObject({ status: 'True', observedGeneration: 1 });
    expect(condition(p, 'Conflict')).toMatchObject({ status: 'False' });
    // No agent runs in this test, so nothing is enforced yet.
    expect(condition(p, 'Programmed')).toMatchObject({ status: 'False', reason: 'AwaitingAgents' });
    // kstatus reads Ready: not ready while no agent enforces it, at the generation seen.
    expect(condition(p, 'Ready')).toMatchObject({ status: 'False', reason: 'AwaitingAgents', observedGeneration: 1 });
    expect(p.status.publicEndpoints).toEqual([
      { node: 'node-1', service: 'web', address: '172.18.0.2', port: 8080, protocol: 'TCP', readyEndpoints: 3 },
      { node: 'node-2', service: 'web', address: '172.18.0.3', port: 8080, protocol: 'TCP', readyEndpoints: 3 },
    ]);
    const node1 = await waitFor('exposure on node-1', async () => { const n = await nnp('node-1'); return n?.spec.exposures ? n : undefined; }, 20_000);
    expect(node1.spec.exposures).toEqual([{
      policy: { namespace: NS, name: 'web-edge' }, service: 'web', servicePort: 80, address: '172.18.0.2', port: 8080, protocol: 'TCP',
      sourceRanges: ['203.0.113.0/24'], sourceNAT: 'Masquerade',
    }]);
    expect((await nnp('node-3')).spec.exposures).toBeUndefined();
  });

  it('is Ready once the agents of its nodes report their plans enforced', async () => {
    // The test plays the agents of node-1 and node-2: Ready at the plan's generation.
    for (const node of ['node-1', 'node-2']) {
      const plan = await nnp(node);
      await api.custom.patchClusterCustomObjectStatus({
        group: 'natplan.io', version: 'v1alpha1', plural: 'nodenatplans', name: node,
        body: { apiVersion: 'natplan.io/v1alpha1', kind: 'NodeNatPlan', metadata: { name: node }, status: { observedGeneration: plan.metadata.generation, conditions: [{ type: 'Ready', status: 'True', reason: 'Enforced', message: 'test agent', lastTransitionTime: new Date().toISOString(), observedGeneration: plan.metadata.generation }] } },
      }, setHeaderOptions('Content-Type', PatchStrategy.MergePatch));
    }
    const p = await waitFor('policy ready', async () => { const x = await policy('web-edge'); return condition(x, 'Ready')?.status === 'True' ? x : undefined; }, 20_000);
    expect(condition(p, 'Programmed')).toMatchObject({ status: 'True' });
    expect(condition(p, 'Ready')).toMatchObject({ status: 'True', reason: 'Ready', observedGeneration: 1 });
  });

  it('a younger policy on the same address and port loses, and says to whom', async () => {
    await settle(1100); // creationTimestamp has one-second resolution
    await api.create(makePolicy(NS, 'web-copy', {
      service: { name: 'web' }, ports: [{ servicePort: 80, externalPort: 8080, protocol: 'TCP' }],
      nodes: { selector: { matchLabels: { 'natplan.io/edge': 'true' } } }, addresses: { fromNode: 'InternalIP' },
    }));
    const p = await waitFor('conflict reported', async () => { const x = await policy('web-copy'); return condition(x, 'Conflict') ? x : undefined; }, 20_000);
    expect(condition(p, 'Conflict')).toMatchObject({ status: 'True', reason: 'AddressPortInUse' });
    expect(condition(p, 'Conflict')?.message).toContain('shop/web-edge');
    expect(condition(p, 'Ready')).toMatchObject({ status: 'False', reason: 'AddressPortInUse' });
    expect((await policy('web-edge')).status.publicEndpointCount).toBe(2);
  });

  it('a policy on a Service\'s node port is refused: the node-port range is never claimable', async () => {
    const service = await api.core.readNamespacedService({ name: 'web', namespace: NS });
    const nodePort = service.spec!.ports![0]!.nodePort!;
    await api.create(makePolicy(NS, 'on-node-port', {
      service: { name: 'web' }, ports: [{ servicePort: 80, externalPort: nodePort, protocol: 'TCP' }], addresses: { fromNode: 'InternalIP' },
    }));
    const p = await waitFor('node-port range refused', async () => { const x = await policy('on-node-port'); return condition(x, 'Accepted') ? x : undefined; }, 20_000);
    expect(condition(p, 'Accepted')).toMatchObject({ status: 'False', reason: 'NodePortRange' });
    expect(condition(p, 'Accepted')?.message).toContain(`${nodePort}/TCP are in the node-port range 30000-32767`);
  });

  it('a reserved port is refused with a clear condition', async () => {
    await api.create(makePolicy(NS, 'on-kubelet', {
      service: { name: 'web' }, ports: [{ servicePort: 80, externalPort: 10250, protocol: 'TCP' }], addresses: { fromNode: 'InternalIP' },
    }));
    const p = await waitFor('reserved port refused', async () => { const x = await policy('on-kubelet'); return condition(x, 'Accepted') ? x : undefined; }, 20_000);
    expect(condition(p, 'Accepted')).toMatchObject({ status: 'False', reason: 'ReservedPort' });
    expect(condition(p, 'Accepted')?.message).toContain('10250');
    expect(p.status.publicEndpointCount).toBe(0);
  });

  it('a policy naming a Service that does not exist is reported, not ignored', async () => {
    await api.create(makePolicy(NS, 'to-nowhere', {
      service: { name: 'nowhere' }, ports: [{ servicePort: 80, externalPort: 9443, protocol: 'TCP' }], addresses: { ips: ['198.51.100.7'] },
    }));
    const p = await waitFor('missing service reported', async () => { const x = await policy('to-nowhere'); return condition(x, 'Accepted') ? x : undefined; }, 20_000);
    expect(condition(p, 'Accepted')?.status).toBe('False');
    expect(condition(p, 'Accepted')?.message).toContain('nowhere');
  });

  it('a restart with policies and their status in place writes nothing either', restartWritesNothing);

  it('the operator survives all of this and stays ready', async () => {
    expect((await fetch(`${operator!.http.url}/readyz`)).ok).toBe(true);
    const metrics = await (await fetch(`${operator!.http.url}/metrics`)).text();
    // The operator restarted just before with nothing to change: its own count agrees with the watches.
    expect(metrics).toContain('# TYPE natplan_operator_writes_total counter');
    expect(metrics).not.toMatch(/natplan_operator_writes_total\{/);
    expect(metrics).toContain('natplan_controller_reconcile_duration_seconds_bucket');
    expect(metrics).toMatch(/^natplan_build_info\{version="\d+\.\d+\.\d+[^"]*",node_version="v\d+[^"]*",platform="\w+\/\w+"\} 1$/m);
  });
});

describe('who may expose what (NatExposureGrant)', () => {
  const TEAM = 'team-b';
  const EVIL = 'evil';
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

  beforeAll(async () => {
    for (const name of [TEAM, EVIL]) await api.core.createNamespace({ body: { metadata: { name } } });
    await api.create(makeService(TEAM, 'api', (s) => { s.spec!.type = 'ClusterIP'; }));
    await api.create(makeSlice(TEAM, 'api', 'api-1', [{ ip: '10.244.3.7', node: 'node-3' }]));
    await api.create(makeService(EVIL, 'dns', (s) => { s.spec!.ports = [{ name: 'dns', port: 53, targetPort: 5353, protocol: 'UDP' }, { name: 'http', port: 80, targetPort: 8080, protocol: 'TCP' }]; }));
    await api.create(makeSlice(EVIL, 'dns', 'dns-1', [{ ip: '10.244.4.9', node: 'node-4' }]));
  });

  it('without a grant for its namespace nothing is exposed, and the policy says why', async () => {
    await api.create(makePolicy(TEAM, 'api-edge', {
      service: { name: 'api' }, ports: [{ servicePort: 80, externalPort: 8085, protocol: 'TCP' }],
      nodes: { selector: { matchLabels: { 'natplan.io/edge': 'true' } } }, addresses: { fromNode: 'InternalIP' },
    }));
    const p = await reasonOf(TEAM, 'api-edge', 'Accepted', 'NotGranted');
    expect(condition(p, 'Accepted')).toMatchObject({ status: 'False' });
    expect(condition(p, 'Accepted')?.message).toContain('no NatExposureGrant allows namespace team-b to claim node InternalIP 8085/TCP');
    expect(condition(p, 'Programmed')?.status).toBe('False');
    expect(await exposuresOf(TEAM)).toEqual([]);
  });

  it('a grant selecting the namespace by label exposes it; removing the label withdraws it', async () => {
    await api.create(makeGrant('teams', {
      namespaces: { selector: { matchLabels: { 'natplan.io/expose': 'yes' } } }, addresses: { fromNode: ['InternalIP'] }, ports: [{ protocol: 'TCP', from: 8081, to: 8089 }],
    }));
    await setLabels(TEAM, { 'natplan.io/expose': 'yes' });
    const p = await reasonOf(TEAM, 'api-edge', 'Accepted', 'Accepted');
    expect(p.status.publicEndpoints.map((e: { node: string; address: string; port: number }) => `${e.node} ${e.address}:${e.port}`)).toEqual(['node-1 172.18.0.2:8085', 'node-2 172.18.0.3:8085']);
    await waitFor('exposures of team-b on the node plans', async () => ((await exposuresOf(TEAM)).length === 2 ? true : undefined), 20_000);
    await setLabels(TEAM, {});
    await reasonOf(TEAM, 'api-edge', 'Accepted', 'NotGranted');
    await waitFor('exposures of team-b withdrawn', async () => ((await exposuresOf(TEAM)).length === 0 ? true : undefined), 20_000);
    await setLabels(TEAM, { 'natplan.io/expose': 'yes' });
    await reasonOf(TEAM, 'api-edge', 'Accepted', 'Accepted');
  });

  it('a port outside the grant is refused even in a granted namespace', async () => {
    await api.create(makePolicy(TEAM, 'api-wide', {
      service: { name: 'api' }, ports: [{ servicePort: 80, externalPort: 8090, protocol: 'TCP' }], addresses: { fromNode: 'InternalIP' },
    }));
    const p = await reasonOf(TEAM, 'api-wide', 'Accepted', 'NotGranted');
    expect(condition(p, 'Accepted')?.message).toContain('node InternalIP 8090/TCP');
  });

  it('finding 1: a namespace cannot claim an outside host\'s address', async () => {
    await api.create(makePolicy(EVIL, 'hijack', {
      service: { name: 'dns' }, addresses: { ips: ['192.0.2.200'] },
      ports: [{ servicePort: 53, externalPort: 9953, protocol: 'UDP' }, { servicePort: 80, externalPort: 9980, protocol: 'TCP' }],
    }));
    const p = await reasonOf(EVIL, 'hijack', 'Accepted', 'NotGranted');
    expect(condition(p, 'Programmed')?.status).toBe('False');
    expect(await exposuresOf(EVIL)).toEqual([]);
  });

  it('finding 5: a claim on another Service\'s cluster IP is a Conflict naming that Service', async () => {
    const web = await api.core.readNamespacedService({ name: 'web', namespace: NS });
    const clusterIP = web.spec!.clusterIP!;
    await api.create(makePolicy(EVIL, 'steal-web-ip', {
      service: { name: 'dns' }, addresses: { ips: [clusterIP] }, ports: [{ servicePort: 53, externalPort: 53, protocol: 'UDP' }],
    }));
    const p = await reasonOf(EVIL, 'steal-web-ip', 'Conflict', 'ClusterIPInUse');
    expect(condition(p, 'Conflict')).toMatchObject({ status: 'True' });
    expect(condition(p, 'Conflict')?.message).toContain(`${clusterIP} is the cluster IP of Service shop/web`);
    expect(condition(p, 'Programmed')?.status).toBe('False');
    expect(await exposuresOf(EVIL)).toEqual([]);
  });

  it('the API server\'s address and port, from the endpoints of default/kubernetes, are never claimed', async () => {
    // The test API server runs with --endpoint-reconciler-type=none; this slice is what a
    // real one writes for itself.
    await api.create(makeSlice('default', 'kubernetes', 'kubernetes', [{ ip: '172.18.0.2', node: 'node-1' }], 8085));
    const p = await reasonOf(TEAM, 'api-edge', 'Conflict', 'AddressPortInUse');
    expect(condition(p, 'Conflict')?.message).toContain('172.18.0.2:8085/TCP on node node-1 is held by the API server (172.18.0.2:8085)');
    expect(p.status.publicEndpoints.map((e: { node: string }) => e.node)).toEqual(['node-2']);
  });
});
