/**
 * The Helm chart: lint-clean, its CRDs identical to crds/ (the source of truth), installs
 * on a real API server, creates the expected objects, and grants least privilege (the
 * agent reads plans and writes only plan status).
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
    expect(agent.config).toMatchObject({ nodeName: 'node-a', minSyncPeriodMs: 2000, metrics: { port: 10261 } });
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
      'service/natplan-agent-metrics',
      'service/natplan-operator-metrics',
      'serviceaccount/natplan-agent',
      'serviceaccount/natplan-operator',
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
