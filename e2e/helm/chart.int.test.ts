/**
 * The Helm chart: lint-clean, its CRD templates equal to crds/ (the source of truth), its
 * node identity policy identical to deploy/ (the plain YAML for installs without Helm),
 * installs on a real API server, creates the expected objects, grants least privilege
 * (the agent reads plans and writes only plan status), and keeps metrics and health local
 * where it can. Then its lifecycle on the same API server: an upgrade updates the CRDs and
 * applies changed values, Pod Security and priority admission accept what the chart
 * creates, and `helm uninstall` runs the post-delete cleanup hooks after the release's
 * objects are gone and keeps the CRDs. What the policy does is shown in e2e/admission.
 */
import { cpSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { cleanupWaitMain as cleanupWait, parseAgentConfig } from '@natplan/node-agent';
import { parseOperatorConfig } from '@natplan/operator';
import { DEFAULT_RESERVED_PORTS } from '@natplan/operator/planner';
import { crdsDir, helm, kubectl, startControlPlane, waitFor, type ControlPlane } from '../control-plane/index.js';

const chart = join(crdsDir, '..', 'charts', 'natplan');
const deployDir = join(crdsDir, '..', 'deploy');

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

const byName = (a: Manifest, b: Manifest) => a.metadata.name.localeCompare(b.metadata.name);
const containerOf = (docs: Manifest[], kind: string) => docs.find((d) => d.kind === kind).spec.template.spec.containers[0];
/** The object without the Helm labels that only the chart adds. */
const withoutLabels = ({ metadata: { labels: _labels, ...metadata }, ...rest }: Manifest) => ({ ...rest, metadata });
let cp: ControlPlane;

let admissionDir: string;

/**
 * Pods of system-node-critical / system-cluster-critical limited to namespaces whose
 * ResourceQuota covers them: kube-apiserver's ResourceQuota admission with this
 * limitedResources configuration (what managed clusters such as GKE configure; a bare
 * kube-apiserver admits those classes anywhere).
 */
const CRITICAL_CLASSES_LIMITED = JSON.stringify({
  apiVersion: 'apiserver.config.k8s.io/v1',
  kind: 'AdmissionConfiguration',
  plugins: [{
    name: 'ResourceQuota',
    configuration: {
      apiVersion: 'apiserver.config.k8s.io/v1',
      kind: 'ResourceQuotaConfiguration',
      limitedResources: [{ resource: 'pods', matchScopes: [{ scopeName: 'PriorityClass', operator: 'In', values: ['system-node-critical', 'system-cluster-critical'] }] }],
    },
  }],
});

beforeAll(async () => {
  admissionDir = mkdtempSync(join(tmpdir(), 'natplan-admission-'));
  writeFileSync(join(admissionDir, 'admission.json'), CRITICAL_CLASSES_LIMITED);
  cp = await startControlPlane({ installCrds: false, apiServerArgs: [`--admission-control-config-file=${join(admissionDir, 'admission.json')}`] });
});
afterAll(async () => {
  await cp?.stop();
  rmSync(admissionDir, { recursive: true, force: true });
});

describe('charts/natplan', () => {
  it('is lint-clean in strict mode', async () => {
    const r = await helm(cp.kubeconfigPath, ['lint', '--strict', chart]);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toContain('0 chart(s) failed');
    expect(r.stdout).not.toMatch(/\[(WARNING|ERROR)\]/);
  });

  it('renders every crds/*.yaml as a CRD equal to it, with the keep policy, and none with crds.enabled=false', async () => {
    const sources = readdirSync(crdsDir).filter((f) => f.endsWith('.yaml')).sort().map((f) => parseAllDocuments(readFileSync(join(crdsDir, f), 'utf8'))[0]!.toJS());
    const rendered = (await render()).filter((d) => d.kind === 'CustomResourceDefinition');
    expect(rendered.map((d) => d.metadata.annotations)).toEqual(sources.map(() => ({ 'helm.sh/resource-policy': 'keep' })));
    const withoutAnnotations = ({ metadata: { annotations: _a, ...metadata }, ...rest }: Manifest) => ({ ...rest, metadata });
    expect(rendered.map(withoutAnnotations).sort(byName)).toEqual(sources.sort(byName));
    // Helm's crds/ folder would be installed once and never upgraded: the chart has none.
    expect(readdirSync(chart)).not.toContain('crds');
    expect((await render('--set', 'crds.enabled=false')).filter((d) => d.kind === 'CustomResourceDefinition')).toEqual([]);
  });

  it.each([
    ['node identity', 'natplan-agent-node-identity', 'agent-node-identity-policy.yaml'],
    ['plan writer', 'natplan-plan-writer', 'plan-writer-policy.yaml'],
  ])('ships the %s policy identical to deploy/ (labels aside)', async (_what, name, file) => {
    const kinds = ['ValidatingAdmissionPolicy', 'ValidatingAdmissionPolicyBinding'];
    const rendered = (await render()).filter((d) => kinds.includes(d.kind) && d.metadata.name === name).map(withoutLabels);
    const plain = parseAllDocuments(readFileSync(join(deployDir, file), 'utf8')).map((d) => d.toJS());
    expect(rendered.map((d) => d.kind)).toEqual(kinds);
    expect(rendered).toEqual(plain);
  });

  it('names the release\'s ServiceAccounts in the policies, and can leave each out', async () => {
    const docs = await renderRelease('edge', 'net');
    const policy = (suffix: string) => docs.find((d) => d.kind === 'ValidatingAdmissionPolicy' && d.metadata.name === `edge-natplan-${suffix}`);
    const binding = (suffix: string) => docs.find((d) => d.kind === 'ValidatingAdmissionPolicyBinding' && d.metadata.name === `edge-natplan-${suffix}`);
    const agent = docs.find((d) => d.kind === 'ServiceAccount' && d.metadata.name.endsWith('-agent'));
    expect(agent.metadata.name).toBe('edge-natplan-agent');
    expect(policy('agent-node-identity').spec.matchConditions[0].expression).toBe("request.userInfo.username == 'system:serviceaccount:net:edge-natplan-agent'");
    expect(binding('agent-node-identity').spec.policyName).toBe(policy('agent-node-identity').metadata.name);
    const operator = docs.find((d) => d.kind === 'ServiceAccount' && d.metadata.name.endsWith('-operator'));
    expect(operator.metadata.name).toBe('edge-natplan-operator');
    expect(policy('plan-writer').spec.matchConditions[0].expression).toContain("['system:serviceaccount:net:edge-natplan-operator',");
    expect(binding('plan-writer').spec.policyName).toBe(policy('plan-writer').metadata.name);
    const policies = async (...set: string[]) => (await render(...set)).filter((d) => d.kind.startsWith('ValidatingAdmissionPolicy')).map((d) => `${d.kind} ${d.metadata.name}`);
    expect(await policies('--set', 'agent.nodeIdentityPolicy=false')).toEqual(['ValidatingAdmissionPolicy natplan-plan-writer', 'ValidatingAdmissionPolicyBinding natplan-plan-writer']);
    expect(await policies('--set', 'operator.planWriterPolicy=false')).toEqual(['ValidatingAdmissionPolicy natplan-agent-node-identity', 'ValidatingAdmissionPolicyBinding natplan-agent-node-identity']);
  });

  it('aggregates into Kubernetes\' default roles no NatExposureGrant and no plan write', async () => {
    const aggregated = (await render()).filter((d) => d.kind === 'ClusterRole'
      && Object.keys(d.metadata.labels ?? {}).some((label) => label.startsWith('rbac.authorization.k8s.io/aggregate-to-')));
    expect(aggregated.map((d) => d.metadata.name).sort()).toEqual(['natplan-edit', 'natplan-view']);
    const rules: { resources: string[]; verbs: string[] }[] = aggregated.flatMap((d) => d.rules);
    expect(rules.flatMap((r) => r.resources)).not.toContain('natexposuregrants');
    const writes = ['create', 'update', 'patch', 'delete', 'deletecollection', '*'];
    for (const r of rules) {
      if (r.resources.some((res) => res.endsWith('natplans') || res === '*')) expect(r.verbs.filter((v) => writes.includes(v))).toEqual([]);
    }
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

  it.each([
    ['operator.clusterCIDRs={10.0.0.0/99}', 'clusterCIDRs'],
    ['operator.serviceCIDRs={300.96.0.0/12}', 'serviceCIDRs'],
    ['operator.externalIPAllowList={10.0.0.1}', 'externalIPAllowList'],
    ['operator.nodePortAddresses={fd00::/129}', 'nodePortAddresses'],
    ['operator.nodePortAddresses={1.2.3/24}', 'nodePortAddresses'],
    ['agent.metricsBindAddress=256.0.0.1', 'metricsBindAddress'],
    ['operator.metricsBindAddress=localhost', 'metricsBindAddress'],
    ['image.digest=sha256:abc', 'digest'],
    ['agent.updateStrategy.type=Recreate', 'updateStrategy'],
    ['agent.gateway=router.lan', 'gateway'],
    ['agent.gateway=300.1.1.1', 'gateway'],
    ['agent.gatewayRetry=30', 'gatewayRetry'],
  ])('schema refuses %s', async (value, field) => {
    const r = await helm(cp.kubeconfigPath, ['template', 't', chart, '--set', value]);
    expect(r.code, r.stdout).not.toBe(0);
    expect(r.stderr).toContain(field);
  });

  it.each([
    'operator.clusterCIDRs={10.244.0.0/16,fd00:10:244::/56}',
    'operator.serviceCIDRs={10.96.0.0/12,fd00:10:96::/112}',
    'operator.externalIPAllowList={0.0.0.0/0,::/0}',
    'agent.metricsBindAddress=::1',
    'agent.gateway=none',
  ])('schema accepts %s', async (value) => {
    const r = await helm(cp.kubeconfigPath, ['template', 't', chart, '--set', value]);
    expect(r.code, r.stderr).toBe(0);
  });

  it('pulls by digest when one is given', async () => {
    const digest = `sha256:${'a'.repeat(64)}`;
    const docs = await render('--set', `image.digest=${digest}`);
    expect(containerOf(docs, 'Deployment').image).toBe(`ghcr.io/natplan/natplan@${digest}`);
    expect(containerOf(docs, 'DaemonSet').image).toBe(`ghcr.io/natplan/natplan@${digest}`);
    expect(containerOf(await render(), 'DaemonSet').image).toBe('ghcr.io/natplan/natplan:0.1.0');
  });

  it('takes probe timings and the DaemonSet updateStrategy from values, keeping the probe targets', async () => {
    const docs = await render('--set', 'agent.readinessProbe.periodSeconds=17', '--set', 'operator.livenessProbe.failureThreshold=9',
      '--set', 'agent.updateStrategy.rollingUpdate.maxUnavailable=10%');
    const agent = containerOf(docs, 'DaemonSet');
    expect(agent.readinessProbe).toEqual({ httpGet: { host: '127.0.0.1', path: '/readyz', port: 'metrics' }, periodSeconds: 17, timeoutSeconds: 2, failureThreshold: 3 });
    expect(containerOf(docs, 'Deployment').livenessProbe).toEqual({ httpGet: { path: '/healthz', port: 'metrics' }, periodSeconds: 10, timeoutSeconds: 2, failureThreshold: 9 });
    expect(docs.find((d) => d.kind === 'DaemonSet' && d.metadata.name === 'natplan-agent').spec.updateStrategy).toEqual({ type: 'RollingUpdate', rollingUpdate: { maxUnavailable: '10%' } });
  });

  it('creates the critical-priority quota only outside kube-system and only for the critical classes in use', async () => {
    const quotas = (docs: Manifest[]) => docs.filter((d) => d.kind === 'ResourceQuota' && !d.metadata.annotations?.['helm.sh/hook']);
    expect(quotas(await render()).map((q) => q.spec.scopeSelector.matchExpressions[0].values)).toEqual([['system-node-critical']]);
    expect(quotas(await render('--set', 'operator.priorityClassName=system-cluster-critical')).map((q) => q.spec.scopeSelector.matchExpressions[0].values))
      .toEqual([['system-node-critical', 'system-cluster-critical']]);
    expect(quotas(await renderRelease('natplan', 'kube-system'))).toEqual([]);
    expect(quotas(await render('--set', 'agent.priorityClassName='))).toEqual([]);
  });

  it('renders the uninstall cleanup as post-delete hooks: RBAC and quota first, then the DaemonSet on the agent\'s nodes, then the waiting Job', async () => {
    const docs = await render('--set', 'agent.nodeSelector.kubernetes\\.io/os=linux');
    const hooks = docs.filter((d) => d.metadata.annotations?.['helm.sh/hook']);
    for (const h of hooks) {
      expect(h.metadata.annotations['helm.sh/hook'], h.metadata.name).toBe('post-delete');
      expect(h.metadata.annotations['helm.sh/hook-delete-policy']).toBe('before-hook-creation,hook-succeeded');
    }
    const order = hooks.map((h) => [Number(h.metadata.annotations['helm.sh/hook-weight']), `${h.kind}/${h.metadata.name}`] as const)
      .sort((a, b) => a[0] - b[0]).map(([weight, name]) => `${weight} ${name}`);
    expect(order).toEqual([
      '-10 ResourceQuota/natplan-cleanup-critical-pods',
      '-10 ServiceAccount/natplan-cleanup',
      '-10 Role/natplan-cleanup',
      '-10 RoleBinding/natplan-cleanup',
      '0 DaemonSet/natplan-cleanup',
      '10 Job/natplan-cleanup-wait',
    ]);
    const agent = docs.find((d) => d.kind === 'DaemonSet' && d.metadata.name === 'natplan-agent').spec.template.spec;
    const cleanup = hooks.find((d) => d.kind === 'DaemonSet').spec.template.spec;
    expect(cleanup.hostNetwork).toBe(true);
    expect(cleanup.tolerations).toEqual(agent.tolerations);
    expect(cleanup.nodeSelector).toEqual({ 'kubernetes.io/os': 'linux' });
    expect(cleanup.priorityClassName).toBe(agent.priorityClassName);
    expect(cleanup.automountServiceAccountToken).toBe(false);
    const [init] = cleanup.initContainers;
    expect(init.securityContext.capabilities.add).toEqual(['NET_ADMIN', 'NET_RAW']);
    // Waits for the agent's own port on this node to close, then cleans up.
    expect(init.command[2]).toContain('/dev/tcp/127.0.0.1/10261');
    expect(init.command[2]).toContain('natplan.js cleanup');
    const job = hooks.find((d) => d.kind === 'Job').spec;
    expect(job.template.spec.serviceAccountName).toBe('natplan-cleanup');
    expect(job.template.spec.containers[0].args).toEqual(['cleanup-wait', '--namespace=natplan-system', '--daemonset=natplan-cleanup']);
    expect(job.activeDeadlineSeconds).toBe(300);
    expect((await render('--set', 'uninstallCleanup.enabled=false')).filter((d) => d.metadata.annotations?.['helm.sh/hook'])).toEqual([]);
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
    // The chart's gateway defaults are the agent's own.
    expect(agent.config).toMatchObject({ gateway: 'auto', gatewayLifetimeSeconds: 3600, gatewayRetryMs: 60_000 });
  });

  it.each([
    [['agent.gateway=172.18.0.1', 'agent.gatewayLifetime=10m', 'agent.gatewayRetry=30s'], { gateway: '172.18.0.1', gatewayLifetimeSeconds: 600, gatewayRetryMs: 30_000 }],
    [['agent.gateway=none'], { gateway: 'none', gatewayLifetimeSeconds: 3600, gatewayRetryMs: 60_000 }],
  ])('passes the agent the gateway values %j, which its flag parser accepts', async (values, expected) => {
    const agent = containerOf(await render(...values.flatMap((v) => ['--set', v])), 'DaemonSet');
    const parsed = parseAgentConfig(agent.args.slice(1), { NODE_NAME: 'node-a' });
    if (!parsed.ok) throw new Error(parsed.errors.join('; '));
    expect(parsed.config).toMatchObject(expected);
  });

  it('points every API client at k8sServiceHost/k8sServicePort when set (replace mode without kube-proxy), and leaves the pod default otherwise', async () => {
    const apiEnv = (docs: Manifest[]) => docs.filter((d) => ['Deployment', 'DaemonSet', 'Job'].includes(d.kind))
      .map((d) => [d.kind, d.metadata.name, (d.spec.template.spec.containers[0].env ?? []).filter((e: { name: string }) => e.name.startsWith('KUBERNETES_SERVICE_'))])
      .sort((a, b) => `${a[0]}/${a[1]}`.localeCompare(`${b[0]}/${b[1]}`));
    const server = [{ name: 'KUBERNETES_SERVICE_HOST', value: '192.0.2.10' }, { name: 'KUBERNETES_SERVICE_PORT', value: '6443' }];
    // The cleanup DaemonSet only removes rules; every other workload talks to the API server.
    expect(apiEnv(await render('--set', 'k8sServiceHost=192.0.2.10'))).toEqual([
      ['DaemonSet', 'natplan-agent', server], ['DaemonSet', 'natplan-cleanup', []], ['Deployment', 'natplan-operator', server], ['Job', 'natplan-cleanup-wait', server],
    ]);
    expect(apiEnv(await render()).flatMap(([, , env]) => env)).toEqual([]);
    await expect(render('--set', 'k8sServiceHost=https://192.0.2.10')).rejects.toThrow(/k8sServiceHost/);
  });

  it('installs and creates the expected objects', async () => {
    const r = await helm(cp.kubeconfigPath, ['install', 'natplan', chart, '--namespace', 'natplan-system', '--create-namespace', '--wait=false']);
    expect(r.code, r.stderr).toBe(0);
    // NOTES.txt: the Pod Security level the namespace needs, and where to look.
    expect(r.stdout).toContain('kubectl label namespace natplan-system pod-security.kubernetes.io/enforce=privileged');
    expect(r.stdout).toContain('kubectl get natplan -A');
    const get = async (...args: string[]) => (await kubectl(cp.kubeconfigPath, ['get', ...args, '-o', 'name'])).stdout.split('\n').filter(Boolean).sort();
    const crds = JSON.parse((await kubectl(cp.kubeconfigPath, ['get', 'crd', 'servicenatplans.natplan.io', 'nodenatplans.natplan.io', 'natexposurepolicies.natplan.io', 'natexposuregrants.natplan.io', '-o', 'json'])).stdout).items;
    // Release objects, so `helm upgrade` updates them; kept on uninstall.
    for (const crd of crds) expect(crd.metadata.annotations).toMatchObject({ 'meta.helm.sh/release-name': 'natplan', 'helm.sh/resource-policy': 'keep' });
    expect(crds).toHaveLength(4);
    expect(await get('-n', 'natplan-system', 'deployment,daemonset,serviceaccount,service,role,rolebinding,poddisruptionbudget,resourcequota,job', '-l', 'app.kubernetes.io/instance=natplan')).toEqual([
      'daemonset.apps/natplan-agent',
      'deployment.apps/natplan-operator',
      'poddisruptionbudget.policy/natplan-operator',
      'resourcequota/natplan-critical-pods',
      'role.rbac.authorization.k8s.io/natplan-operator-leader-election',
      'rolebinding.rbac.authorization.k8s.io/natplan-operator-leader-election',
      'service/natplan-operator-metrics',
      'serviceaccount/natplan-agent',
      'serviceaccount/natplan-operator',
    ]);
    expect(await get('validatingadmissionpolicy,validatingadmissionpolicybinding', '-l', 'app.kubernetes.io/instance=natplan')).toEqual([
      'validatingadmissionpolicy.admissionregistration.k8s.io/natplan-agent-node-identity',
      'validatingadmissionpolicy.admissionregistration.k8s.io/natplan-plan-writer',
      'validatingadmissionpolicybinding.admissionregistration.k8s.io/natplan-agent-node-identity',
      'validatingadmissionpolicybinding.admissionregistration.k8s.io/natplan-plan-writer',
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

  it('helm upgrade from an older chart updates its CRDs and applies a changed value; crds.enabled=false keeps them', async () => {
    const old = mkdtempSync(join(tmpdir(), 'natplan-older-chart-'));
    try {
      // The "older" chart: its NodeNatPlan CRD has no Exposures column yet.
      cpSync(chart, old, { recursive: true });
      const crdTemplate = join(old, 'templates', 'crds', 'nodenatplans.natplan.io.yaml');
      const exposures = "        - {name: Exposures, type: integer, jsonPath: .status.exposures}\n";
      expect(readFileSync(crdTemplate, 'utf8')).toContain(exposures);
      writeFileSync(crdTemplate, readFileSync(crdTemplate, 'utf8').replace(exposures, ''));
      const columns = async () => JSON.parse((await kubectl(cp.kubeconfigPath, ['get', 'crd', 'nodenatplans.natplan.io', '-o', 'json'])).stdout)
        .spec.versions[0].additionalPrinterColumns.map((c: { name: string }) => c.name);
      const replicas = async () => JSON.parse((await kubectl(cp.kubeconfigPath, ['get', '-n', 'natplan-system', 'deployment', 'natplan-operator', '-o', 'json'])).stdout).spec.replicas;
      const older = await helm(cp.kubeconfigPath, ['upgrade', 'natplan', old, '--namespace', 'natplan-system']);
      expect(older.code, older.stderr).toBe(0);
      expect(await columns()).not.toContain('Exposures');
      const newer = await helm(cp.kubeconfigPath, ['upgrade', 'natplan', chart, '--namespace', 'natplan-system', '--set', 'operator.replicas=3']);
      expect(newer.code, newer.stderr).toBe(0);
      expect(await columns()).toContain('Exposures');
      expect(await replicas()).toBe(3);
      // Handing the CRDs over to GitOps (crds.enabled=false) does not delete them (keep
      // policy), and taking them back adopts them again.
      const off = await helm(cp.kubeconfigPath, ['upgrade', 'natplan', chart, '--namespace', 'natplan-system', '--reuse-values', '--set', 'crds.enabled=false']);
      expect(off.code, off.stderr).toBe(0);
      expect(await columns()).toContain('Exposures');
      const on = await helm(cp.kubeconfigPath, ['upgrade', 'natplan', chart, '--namespace', 'natplan-system', '--reuse-values', '--set', 'crds.enabled=true']);
      expect(on.code, on.stderr).toBe(0);
    } finally {
      rmSync(old, { recursive: true, force: true });
    }
  });

  describe('admission of the pods the chart creates (server-side dry run)', () => {
    /** A Pod with a rendered workload's pod spec, created with --dry-run=server in `namespace`. */
    const dryRunPod = async (kind: string, namespace: string, ...values: string[]) => {
      const spec = (await render(...values)).find((d) => d.kind === kind && !d.metadata.annotations?.['helm.sh/hook']).spec.template.spec;
      const pod = { apiVersion: 'v1', kind: 'Pod', metadata: { name: `dry-${kind.toLowerCase()}`, namespace }, spec };
      return kubectl(cp.kubeconfigPath, ['create', '--dry-run=server', '-f', '-'], JSON.stringify(pod));
    };
    const enforce = (namespace: string, level: string) => kubectl(cp.kubeconfigPath, ['label', 'namespace', namespace, `pod-security.kubernetes.io/enforce=${level}`, '--overwrite']);

    beforeAll(async () => {
      // No resource-quota controller runs here: play its part, so admission can count.
      const used = JSON.stringify({ status: { hard: { pods: '100000' }, used: { pods: '0' } } });
      const patched = await kubectl(cp.kubeconfigPath, ['patch', '-n', 'natplan-system', 'resourcequota', 'natplan-critical-pods', '--subresource=status', '--type=merge', '-p', used]);
      expect(patched.code, patched.stderr).toBe(0);
      await kubectl(cp.kubeconfigPath, ['create', 'namespace', 'elsewhere']);
      // The ServiceAccount admission plugin wants the pods' accounts to exist.
      for (const who of ['agent', 'operator']) await kubectl(cp.kubeconfigPath, ['create', 'serviceaccount', '-n', 'elsewhere', `natplan-${who}`]);
      await enforce('elsewhere', 'privileged');
    });
    afterAll(async () => { await enforce('natplan-system', 'privileged'); });

    it.each([
      ['Deployment', 'restricted', true],
      ['DaemonSet', 'restricted', false],
      ['DaemonSet', 'baseline', false],
      ['DaemonSet', 'privileged', true],
    ])('Pod Security: the %s pod under "%s": admitted=%s', async (kind, level, admitted) => {
      expect((await enforce('natplan-system', level)).code).toBe(0);
      const r = await dryRunPod(kind, 'natplan-system');
      expect(r.code === 0, r.stderr).toBe(admitted);
      if (!admitted) expect(r.stderr).toContain(`violates PodSecurity "${level}:`);
    });

    it('system-node-critical agents are admitted in the release namespace (its quota) and refused where no quota covers them', async () => {
      await enforce('natplan-system', 'privileged');
      const here = await dryRunPod('DaemonSet', 'natplan-system');
      expect(here.code, here.stderr).toBe(0);
      const elsewhere = await dryRunPod('DaemonSet', 'elsewhere');
      expect(elsewhere.code).not.toBe(0);
      expect(elsewhere.stderr).toContain('system-node-critical');
      const withoutClass = await dryRunPod('DaemonSet', 'elsewhere', '--set', 'agent.priorityClassName=');
      expect(withoutClass.code, withoutClass.stderr).toBe(0);
    });
  });

  it('helm uninstall deletes the release, then runs the cleanup hooks (least privilege), and keeps the CRDs', async () => {
    const get = (...args: string[]) => kubectl(cp.kubeconfigPath, ['get', '-n', 'natplan-system', ...args]);
    const uninstall = helm(cp.kubeconfigPath, ['uninstall', 'natplan', '--namespace', 'natplan-system', '--timeout', '100s']);
    await waitFor('the cleanup Job (the last hook)', async () => ((await get('job', 'natplan-cleanup-wait')).code === 0 ? true : undefined), 90_000, 250);
    // Post-delete: the agents and the operator are gone before the cleanup starts.
    expect((await get('daemonset', 'natplan-agent')).stderr).toContain('NotFound');
    expect((await get('deployment', 'natplan-operator')).stderr).toContain('NotFound');
    expect((await get('resourcequota', 'natplan-critical-pods')).stderr).toContain('NotFound');
    for (const hook of ['daemonset/natplan-cleanup', 'serviceaccount/natplan-cleanup', 'role/natplan-cleanup', 'rolebinding/natplan-cleanup', 'resourcequota/natplan-cleanup-critical-pods']) {
      expect((await get(hook)).code, hook).toBe(0);
    }
    const can = async (verb: string, resource: string) => (await kubectl(cp.kubeconfigPath, ['auth', 'can-i', verb, resource, '-n', 'natplan-system', '--as=system:serviceaccount:natplan-system:natplan-cleanup'])).stdout.trim();
    expect(await can('get', 'daemonsets/natplan-cleanup')).toBe('yes');
    expect(await can('get', 'daemonsets/natplan-agent')).toBe('no');
    expect(await can('list', 'daemonsets')).toBe('no');
    expect(await can('get', 'pods')).toBe('no');

    // No kubelet or DaemonSet controller runs here: play the controller's part, and run the
    // Job's program with the Job's ServiceAccount token.
    const token = await kubectl(cp.kubeconfigPath, ['create', 'token', 'natplan-cleanup', '-n', 'natplan-system']);
    expect(token.code, token.stderr).toBe(0);
    const dir = mkdtempSync(join(tmpdir(), 'natplan-cleanup-wait-'));
    try {
      const kubeconfig = join(dir, 'kubeconfig');
      const cluster = cp.kubeConfig.getCurrentCluster()!;
      writeFileSync(kubeconfig, JSON.stringify({
        apiVersion: 'v1', kind: 'Config', 'current-context': 'sa',
        clusters: [{ name: 'cp', cluster: { server: cluster.server, 'certificate-authority-data': readFileSync(cluster.caFile!).toString('base64') } }],
        users: [{ name: 'sa', user: { token: token.stdout.trim() } }],
        contexts: [{ name: 'sa', context: { cluster: 'cp', user: 'sa' } }],
      }));
      let finished = false;
      const waiting = cleanupWait(['--namespace=natplan-system', '--daemonset=natplan-cleanup', `--kubeconfig=${kubeconfig}`, '--interval=100ms']).then(() => { finished = true; });
      const status = (ready: number) => JSON.stringify({ status: { observedGeneration: 1, desiredNumberScheduled: 2, currentNumberScheduled: 2, updatedNumberScheduled: 2, numberMisscheduled: 0, numberReady: ready } });
      const patchStatus = (ready: number) => kubectl(cp.kubeconfigPath, ['patch', '-n', 'natplan-system', 'daemonset', 'natplan-cleanup', '--subresource=status', '--type=merge', '-p', status(ready)]);
      expect((await patchStatus(1)).code).toBe(0);
      expect(finished).toBe(false);
      expect((await patchStatus(2)).code).toBe(0);
      await waiting;
      expect(process.exitCode ?? 0).toBe(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }

    // The Job controller's part: the Job succeeded. Helm then deletes every hook.
    const now = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
    const condition = (type: string) => ({ type, status: 'True', lastProbeTime: now, lastTransitionTime: now, reason: type === 'Complete' ? 'CompletionsReached' : 'CompletionsReached', message: 'Reached expected number of succeeded pods' });
    const done = await kubectl(cp.kubeconfigPath, ['patch', '-n', 'natplan-system', 'job', 'natplan-cleanup-wait', '--subresource=status', '--type=merge', '-p',
      JSON.stringify({ status: { startTime: now, completionTime: now, succeeded: 1, active: 0, ready: 0, conditions: [condition('SuccessCriteriaMet'), condition('Complete')] } })]);
    expect(done.code, done.stderr).toBe(0);
    const r = await uninstall;
    expect(r.code, r.stderr).toBe(0);
    for (const hook of ['job/natplan-cleanup-wait', 'daemonset/natplan-cleanup', 'serviceaccount/natplan-cleanup', 'role/natplan-cleanup']) {
      await waitFor(`${hook} deleted`, async () => ((await get(hook)).stderr.includes('NotFound') ? true : undefined), 30_000, 250);
    }
    // The CRDs stay (keep policy): deleting them would delete every policy users wrote.
    expect((await kubectl(cp.kubeconfigPath, ['get', 'crd', 'nodenatplans.natplan.io', 'servicenatplans.natplan.io', 'natexposurepolicies.natplan.io'])).code).toBe(0);
  });
});
