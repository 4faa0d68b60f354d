/**
 * The Helm chart: lint-clean, its CRDs identical to crds/ (the source of truth), its node
 * identity policy identical to deploy/ (the plain YAML for installs without Helm),
 * installs on a real API server, creates the expected objects, grants least privilege
 * (the agent reads plans and writes only plan status), and keeps metrics and health local
 * where it can. What the policy does is shown in e2e/admission.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { parseAgentConfig } from '../../node-agent/src/config.js';
import { parseOperatorConfig } from '../../operator/src/config.js';
import { DEFAULT_RESERVED_PORTS } from '../../operator/src/planner/index.js';
import { crdsDir, helm, kubectl, startControlPlane, type ControlPlane } from '../control-plane/index.js';

const chart = join(crdsDir, '..', 'charts', 'natplan');
const plainPolicy = join(crdsDir, '..', 'deploy', 'agent-node-identity-policy.yaml');

/** Objects `helm template` renders for a release (by default "natplan" in natplan-system). */
async function render(...args: string[]) {
  return renderRelease('natplan', 'natplan-system', ...args);
}

async function renderRelease(release: string, namespace: string, ...args: string[]) {
  const r = await helm(cp.kubeconfigPath, ['template', release, chart, '--namespace', namespace, ...args]);
  if (r.code !== 0) throw new Error(r.stderr);
  return parseAllDocuments(r.stdout).map((d) => d.toJS()).filter(Boolean);
}

/** A rendered manifest: YAML's own loose type. */
type Manifest = Awaited<ReturnType<typeof render>>[number];

const containerOf = (docs: Manifest[], kind: string) => docs.find((d) => d.kind === kind).spec.template.spec.containers[0];
/** The object without the Helm labels that only the chart adds. */
const withoutLabels = ({ metadata: { labels: _labels, ...metadata }, ...rest }: Manifest) => ({ ...rest, metadata });
let cp: ControlPlane;

beforeAll(async () => { cp = await startControlPlane({ installCrds: false }); });
afterAll(async () => { await cp?.stop(); });

describe('charts/natplan', () => {
  it('is lint-clean in strict mode', async () => {
    const r = await helm(cp.kubeconfigPath, ['lint', '--strict', chart]);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toContain('0 chart(s) failed');
    expect(r.stdout).not.toMatch(/\[(WARNING|ERROR)\]/);
  });

  it('ships CRDs identical to crds/', () => {
    const ours = readdirSync(crdsDir).filter((f) => f.endsWith('.yaml')).sort();
    expect(readdirSync(join(chart, 'crds')).sort()).toEqual(ours);
    for (const f of ours) expect(readFileSync(join(chart, 'crds', f), 'utf8'), f).toBe(readFileSync(join(crdsDir, f), 'utf8'));
  });

  it('ships the node identity policy identical to deploy/ (labels aside)', async () => {
    const kinds = ['ValidatingAdmissionPolicy', 'ValidatingAdmissionPolicyBinding'];
    const rendered = (await render()).filter((d) => kinds.includes(d.kind)).map(withoutLabels);
    const plain = parseAllDocuments(readFileSync(plainPolicy, 'utf8')).map((d) => d.toJS());
    expect(rendered.map((d) => d.kind)).toEqual(kinds);
    expect(rendered).toEqual(plain);
  });

  it('names the agent\'s ServiceAccount of the release in the policy, and can leave it out', async () => {
    const docs = await renderRelease('edge', 'net');
    const policy = docs.find((d) => d.kind === 'ValidatingAdmissionPolicy');
    const agent = docs.find((d) => d.kind === 'ServiceAccount' && d.metadata.name.endsWith('-agent'));
    expect(agent.metadata.name).toBe('edge-natplan-agent');
    expect(policy.spec.matchConditions[0].expression).toBe("request.userInfo.username == 'system:serviceaccount:net:edge-natplan-agent'");
    expect(docs.find((d) => d.kind === 'ValidatingAdmissionPolicyBinding').spec.policyName).toBe(policy.metadata.name);
    expect((await render('--set', 'agent.nodeIdentityPolicy=false')).filter((d) => d.kind.startsWith('ValidatingAdmissionPolicy'))).toEqual([]);
  });

  it('agent pods use the projected, pod-bound token (the one carrying the node claim)', async () => {
    const pod = (await render()).find((d) => d.kind === 'DaemonSet').spec.template.spec;
    expect(pod.serviceAccountName).toBe('natplan-agent');
    expect(pod.automountServiceAccountToken).toBe(true);
    expect(JSON.stringify(pod.volumes)).not.toContain('secret');
  });

  it('keeps the agent\'s metrics and health on the node\'s loopback, probed there, and not scraped', async () => {
    const docs = await render('--set', 'serviceMonitor.enabled=true');
    const agent = containerOf(docs, 'DaemonSet');
    const parsed = parseAgentConfig(agent.args.slice(1), { NODE_NAME: 'node-a' });
    if (!parsed.ok) throw new Error(parsed.errors.join('; '));
    expect(parsed.config.metrics).toEqual({ host: '127.0.0.1', port: 10261 });
    expect(agent.livenessProbe.httpGet).toEqual({ host: '127.0.0.1', path: '/healthz', port: 'metrics' });
    expect(agent.readinessProbe.httpGet).toEqual({ host: '127.0.0.1', path: '/readyz', port: 'metrics' });
    expect(docs.filter((d) => d.kind === 'Service' || d.kind === 'ServiceMonitor').map((d) => `${d.kind}/${d.metadata.name}`).sort())
      .toEqual(['Service/natplan-operator-metrics', 'ServiceMonitor/natplan-operator']);
  });

  it('serves kube-proxy\'s /healthz on every node address, except beside kube-proxy (complement mode)', async () => {
    const healthzOf = async (...args: string[]) => {
      const agent = containerOf(await render(...args), 'DaemonSet');
      const parsed = parseAgentConfig(agent.args.slice(1), { NODE_NAME: 'node-a' });
      if (!parsed.ok) throw new Error(parsed.errors.join('; '));
      return { healthz: parsed.config.healthz, ports: agent.ports.map((p: { name: string }) => p.name) };
    };
    expect(await healthzOf()).toEqual({ healthz: { host: '0.0.0.0', port: 10256 }, ports: ['metrics', 'healthz'] });
    expect(await healthzOf('--set', 'operator.mode=complement')).toEqual({ healthz: undefined, ports: ['metrics'] });
  });

  it('exposes the agent\'s metrics for a ServiceMonitor when asked, probing loopback still', async () => {
    const docs = await render('--set', 'serviceMonitor.enabled=true', '--set', 'agent.metricsBindAddress=0.0.0.0');
    const agent = containerOf(docs, 'DaemonSet');
    expect(agent.args).toContain('--metrics-address=0.0.0.0:10261');
    expect(agent.readinessProbe.httpGet.host).toBe('127.0.0.1');
    expect(docs.filter((d) => d.kind === 'ServiceMonitor').map((d) => d.metadata.name).sort()).toEqual(['natplan-agent', 'natplan-operator']);
  });

  it('serves the operator\'s metrics on its pod address (where the kubelet probes), and refuses loopback there', async () => {
    const operator = containerOf(await render(), 'Deployment');
    const parsed = parseOperatorConfig(operator.args.slice(1), { POD_NAME: 'op-0', POD_NAMESPACE: 'natplan-system' }, 'h');
    if (!parsed.ok) throw new Error(parsed.errors.join('; '));
    expect(parsed.config.metrics).toEqual({ host: '0.0.0.0', port: 9090 });
    expect(operator.livenessProbe.httpGet).toEqual({ path: '/healthz', port: 'metrics' });
    const r = await helm(cp.kubeconfigPath, ['template', 't', chart, '--set', 'operator.metricsBindAddress=127.0.0.1']);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('operator.metricsBindAddress: the operator runs in the pod network');
  });

  it('refuses values its schema does not allow', async () => {
    const r = await helm(cp.kubeconfigPath, ['template', 't', chart, '--set', 'operator.mode=bogus']);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain("value must be one of 'replace', 'complement'");
  });

  it('passes the programs flags they accept, with the values given', async () => {
    const r = await helm(cp.kubeconfigPath, ['template', 't', chart, '--set', 'operator.mode=complement', '--set', 'operator.clusterCIDRs={10.244.0.0/16}', '--set', 'agent.minSyncPeriod=2s', '--set', 'operator.apiServerEndpoints={172.18.0.1:6443}']);
    expect(r.code, r.stderr).toBe(0);
    const docs = parseAllDocuments(r.stdout).map((d) => d.toJS()).filter(Boolean);
    const argsOf = (kind: string) => docs.find((d) => d.kind === kind).spec.template.spec.containers[0].args as string[];
    const [operatorCommand, ...operatorArgs] = argsOf('Deployment');
    expect(operatorCommand).toBe('operator');
    const operator = parseOperatorConfig(operatorArgs, { POD_NAME: 'op-0', POD_NAMESPACE: 'natplan-system' }, 'h');
    if (!operator.ok) throw new Error(operator.errors.join('; '));
    expect(operator.config.planner.mode).toBe('complement');
    expect(operator.config.planner.clusterCIDRs).toEqual(['10.244.0.0/16']);
    // What no policy may claim: the chart's defaults match the operator's.
    expect(operator.config.planner.nodePortRange).toEqual({ from: 30000, to: 32767 });
    expect([...operator.config.planner.reservedPorts]).toEqual(DEFAULT_RESERVED_PORTS);
    expect(operator.config.planner.apiServerEndpoints).toEqual([{ address: '172.18.0.1', port: 6443 }]);
    const [agentCommand, ...agentArgs] = argsOf('DaemonSet');
    expect(agentCommand).toBe('agent');
    const agent = parseAgentConfig(agentArgs, { NODE_NAME: 'node-a' });
    if (!agent.ok) throw new Error(agent.errors.join('; '));
    expect(agent.config).toMatchObject({ nodeName: 'node-a', minSyncPeriodMs: 2000, metrics: { host: '127.0.0.1', port: 10261 } });
  });

  it('installs and creates the expected objects', async () => {
    const r = await helm(cp.kubeconfigPath, ['install', 'natplan', chart, '--namespace', 'natplan-system', '--create-namespace', '--wait=false']);
    expect(r.code, r.stderr).toBe(0);
    const get = async (...args: string[]) => (await kubectl(cp.kubeconfigPath, ['get', ...args, '-o', 'name'])).stdout.split('\n').filter(Boolean).sort();
    expect(await get('crd', 'servicenatplans.natplan.io', 'nodenatplans.natplan.io', 'natexposurepolicies.natplan.io', 'natexposuregrants.natplan.io')).toHaveLength(4);
    expect(await get('-n', 'natplan-system', 'deployment,daemonset,serviceaccount,service,role,rolebinding', '-l', 'app.kubernetes.io/instance=natplan')).toEqual([
      'daemonset.apps/natplan-agent',
      'deployment.apps/natplan-operator',
      'role.rbac.authorization.k8s.io/natplan-operator-leader-election',
      'rolebinding.rbac.authorization.k8s.io/natplan-operator-leader-election',
      'service/natplan-operator-metrics',
      'serviceaccount/natplan-agent',
      'serviceaccount/natplan-operator',
    ]);
    expect(await get('validatingadmissionpolicy,validatingadmissionpolicybinding', '-l', 'app.kubernetes.io/instance=natplan')).toEqual([
      'validatingadmissionpolicy.admissionregistration.k8s.io/natplan-agent-node-identity',
      'validatingadmissionpolicybinding.admissionregistration.k8s.io/natplan-agent-node-identity',
    ]);
    const deployment = JSON.parse((await kubectl(cp.kubeconfigPath, ['get', '-n', 'natplan-system', 'deployment', 'natplan-operator', '-o', 'json'])).stdout);
    expect(deployment.spec.replicas).toBe(2);
    const ds = JSON.parse((await kubectl(cp.kubeconfigPath, ['get', '-n', 'natplan-system', 'daemonset', 'natplan-agent', '-o', 'json'])).stdout);
    const pod = ds.spec.template.spec;
    expect(pod.hostNetwork).toBe(true);
    expect(pod.tolerations).toEqual([{ operator: 'Exists' }]);
    expect(pod.containers[0].securityContext.capabilities.add).toEqual(['NET_ADMIN', 'NET_RAW']);
  });

  it.each([
    ['agent', 'list', 'servicenatplans.natplan.io', 'yes'],
    ['agent', 'watch', 'nodenatplans.natplan.io', 'yes'],
    ['agent', 'patch', 'nodenatplans.natplan.io/status', 'yes'],
    ['agent', 'patch', 'nodenatplans.natplan.io', 'no'],
    ['agent', 'create', 'servicenatplans.natplan.io', 'no'],
    ['agent', 'list', 'services', 'no'],
    ['agent', 'list', 'pods', 'no'],
    ['agent', 'get', 'secrets', 'no'],
    ['operator', 'list', 'services', 'yes'],
    ['operator', 'watch', 'endpointslices.discovery.k8s.io', 'yes'],
    ['operator', 'patch', 'servicenatplans.natplan.io', 'yes'],
    ['operator', 'delete', 'nodenatplans.natplan.io', 'yes'],
    ['operator', 'patch', 'natexposurepolicies.natplan.io/status', 'yes'],
    ['operator', 'patch', 'natexposurepolicies.natplan.io', 'no'],
    ['operator', 'watch', 'natexposuregrants.natplan.io', 'yes'],
    ['operator', 'create', 'natexposuregrants.natplan.io', 'no'],
    ['operator', 'watch', 'namespaces', 'yes'],
    ['agent', 'list', 'natexposuregrants.natplan.io', 'no'],
    ['operator', 'get', 'secrets', 'no'],
  ])('RBAC: the %s may %s %s: %s', async (who, verb, resource, expected) => {
    const [res, sub] = resource.split('/');
    const args = ['auth', 'can-i', verb, res!, '-A', `--as=system:serviceaccount:natplan-system:natplan-${who}`];
    if (sub) args.push(`--subresource=${sub}`);
    const r = await kubectl(cp.kubeconfigPath, args);
    expect(r.stdout.trim()).toBe(expected);
  });

  it('the operator may manage its Lease only in its own namespace', async () => {
    const can = async (ns: string) => (await kubectl(cp.kubeconfigPath, ['auth', 'can-i', 'update', 'leases.coordination.k8s.io', '-n', ns, '--as=system:serviceaccount:natplan-system:natplan-operator'])).stdout.trim();
    expect(await can('natplan-system')).toBe('yes');
    expect(await can('kube-system')).toBe('no');
  });
});
