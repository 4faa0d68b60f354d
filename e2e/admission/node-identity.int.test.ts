/**
 * Each node speaks only for itself, on a real API server with real tokens: the chart's
 * ValidatingAdmissionPolicy lets the agent's ServiceAccount write the status of the
 * NodeNatPlan named by the node claim of its pod-bound token, and nothing else. No
 * kubelet runs: a Pod object with spec.nodeName is all a TokenRequest needs to bind a
 * token to the pod and so to its node, exactly as the kubelet's projected token is bound.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiError, applyObject, applyStatus, call, kubeClient, type KubeClient } from '@natplan/controller-kit';
import { bearerClient, get, post, refusal, serviceAccountToken } from './clients.js';
import type { NodeNatPlan, NodeNatPlanStatus } from '@natplan/api';
import { AGENT_FIELD_MANAGER } from '@natplan/node-agent';
import { crdsDir, helm, kubectl, startControlPlane, waitFor, type ControlPlane } from '../control-plane/index.js';

const chart = join(crdsDir, '..', 'charts', 'natplan');
const NS = 'natplan-system';
const AGENT = `system:serviceaccount:${NS}:natplan-agent`;
const POLICY = 'natplan-agent-node-identity';
const NODE_CLAIM = 'authentication.kubernetes.io/node-name';

let cp: ControlPlane;
let admin: KubeClient;

beforeAll(async () => {
  cp = await startControlPlane();
  admin = kubeClient(cp.kubeConfig);
  // This policy alone: the plan-writer policy would refuse the agent's plan-spec writes too,
  // and which refusal the API server reports first is not defined (plan-writer.int.test.ts).
  const install = await helm(cp.kubeconfigPath, ['install', 'natplan', chart, '--namespace', NS, '--create-namespace', '--set', 'crds.enabled=false', '--set', 'operator.planWriterPolicy=false', '--wait=false']);
  if (install.code !== 0) throw new Error(install.stderr);
  for (const node of ['node-a', 'node-b']) {
    await post(admin, '/api/v1/nodes', { apiVersion: 'v1', kind: 'Node', metadata: { name: node } });
    await applyObject(admin, { apiVersion: 'natplan.io/v1alpha1', kind: 'NodeNatPlan', metadata: { name: node }, spec: { nodeName: node } } as NodeNatPlan, { fieldManager: 'natplan-operator' });
  }
  // The agent's pod on each node, as the DaemonSet would create it (no kubelet runs it).
  for (const node of ['node-a', 'node-b']) {
    await post(admin, `/api/v1/namespaces/${NS}/pods`, {
      apiVersion: 'v1', kind: 'Pod', metadata: { name: `agent-${node}` },
      spec: { serviceAccountName: 'natplan-agent', nodeName: node, containers: [{ name: 'agent', image: 'natplan:test' }] },
    });
  }
  // Policies take effect once the API server's admission informer has them: wait until
  // node-a's token is refused on node-b, the finding this policy closes.
  const agentA = await agentClient(await tokenBoundToPod('agent-node-a'));
  await waitFor('the node identity policy in force', async () => {
    const err = await writeStatus(agentA, 'node-b', 'False').then(() => undefined, (e: unknown) => e);
    return err instanceof ApiError && err.statusCode === 403 && err.message.includes(POLICY) ? true : undefined;
  }, 30_000, 200);
});
afterAll(async () => { await cp?.stop(); });

describe('the node identity policy, with the tokens Kubernetes issues', () => {
  it('a pod-bound token carries its node in the user\'s extra (no API server flag needed on 1.34)', async () => {
    const review = await post<{ status: { userInfo: { username: string; extra?: Record<string, string[]> } } }>(await agentClient(await tokenBoundToPod('agent-node-a')), '/apis/authentication.k8s.io/v1/selfsubjectreviews', { apiVersion: 'authentication.k8s.io/v1', kind: 'SelfSubjectReview' });
    expect(review.status.userInfo.username).toBe(AGENT);
    expect(review.status.userInfo.extra?.[NODE_CLAIM]).toEqual(['node-a']);
    expect(review.status.userInfo.extra?.['authentication.kubernetes.io/pod-name']).toEqual(['agent-node-a']);
  });

  it.each(['node-a', 'node-b'])('%s\'s agent writes its own status (the agent\'s own server-side apply)', async (node) => {
    const agent = await agentClient(await tokenBoundToPod(`agent-${node}`));
    for (const ready of ['False', 'True'] as const) {
      const written = await writeStatus(agent, node, ready);
      expect(written.status?.conditions?.[0]).toMatchObject({ type: 'Ready', status: ready });
    }
  });

  it('node-b\'s agent cannot write node-a\'s status either', async () => {
    const agentB = await agentClient(await tokenBoundToPod('agent-node-b'));
    const err = await refusal(writeStatus(agentB, 'node-a', 'False'));
    expect(err.message).toContain('the natplan agent of node node-b may write only the status of NodeNatPlan node-b, not node-a');
  });

  it('node-a\'s agent cannot set node-b Ready=False: refused with the policy\'s message, node-b unchanged', async () => {
    await writeStatus(admin, 'node-b', 'True');
    const agentA = await agentClient(await tokenBoundToPod('agent-node-a'));
    const err = await refusal(writeStatus(agentA, 'node-b', 'False'));
    expect(err.message).toContain(`ValidatingAdmissionPolicy '${POLICY}'`);
    expect(err.message).toContain('the natplan agent of node node-a may write only the status of NodeNatPlan node-a, not node-b');
    expect((await get<NodeNatPlan>(admin, '/apis/natplan.io/v1alpha1/nodenatplans/node-b')).status?.conditions?.[0]?.status).toBe('True');
  });

  it('a token bound to no pod has no node claim and is refused, even for a node that exists', async () => {
    const unbound = await agentClient(await token({}));
    const err = await refusal(writeStatus(unbound, 'node-a', 'False'));
    expect(err.message).toContain('the natplan agent\'s token has no node claim (authentication.kubernetes.io/node-name)');
  });

  it('impersonating the shared ServiceAccount, as in the finding, is refused too (no node claim)', async () => {
    const r = await kubectl(cp.kubeconfigPath, ['patch', 'nodenatplan', 'node-b', '--subresource=status', '--type=merge', `--as=${AGENT}`,
      '-p', JSON.stringify({ status: { conditions: [condition('False')] } })]);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('has no node claim');
  });

  describe('with a wider role granted to the agent by mistake', () => {
    beforeAll(async () => {
      await post(admin, '/apis/rbac.authorization.k8s.io/v1/clusterroles', {
        apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRole', metadata: { name: 'too-wide' },
        rules: [
          { apiGroups: ['natplan.io'], resources: ['nodenatplans'], verbs: ['patch'] },
          { apiGroups: [''], resources: ['configmaps'], verbs: ['create'] },
          { apiGroups: [''], resources: ['nodes/proxy'], verbs: ['get'] },
        ],
      });
      await post(admin, '/apis/rbac.authorization.k8s.io/v1/clusterrolebindings', {
        apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRoleBinding', metadata: { name: 'too-wide' },
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'too-wide' },
        subjects: [{ kind: 'ServiceAccount', name: 'natplan-agent', namespace: NS }],
      });
      const agentA = await agentClient(await tokenBoundToPod('agent-node-a'));
      await waitFor('the wider role in force', async () => {
        const r = await post<{ status: { allowed: boolean } }>(agentA, '/apis/authorization.k8s.io/v1/selfsubjectaccessreviews', {
          apiVersion: 'authorization.k8s.io/v1', kind: 'SelfSubjectAccessReview', spec: { resourceAttributes: { verb: 'create', resource: 'configmaps', namespace: NS } },
        });
        return r.status.allowed ? true : undefined;
      }, 10_000);
    });

    it.each([
      ['its own NodeNatPlan\'s spec', 'PATCH', '/apis/natplan.io/v1alpha1/nodenatplans/node-a', { spec: { nodeName: 'node-a', masqueradeAll: true } }, 'not nodenatplans'],
      ['a ConfigMap', 'POST', `/api/v1/namespaces/${NS}/configmaps`, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'x' } }, 'not configmaps'],
    ] as const)('even node-a\'s own token may not write %s', async (_what, method, path, body, message) => {
      const agentA = await agentClient(await tokenBoundToPod('agent-node-a'));
      const err = await refusal(call(agentA.requester, { method, path, body: JSON.stringify(body), contentType: method === 'PATCH' ? 'application/merge-patch+json' : 'application/json' }));
      expect(err.message).toContain(`the natplan agent may write only NodeNatPlan status, ${message}`);
    });

    it('nor connect through the node proxy', async () => {
      const agentA = await agentClient(await tokenBoundToPod('agent-node-a'));
      const err = await refusal(call(agentA.requester, { method: 'GET', path: '/api/v1/nodes/node-a/proxy/metrics' }));
      expect(err.message).toContain('the natplan agent may write only NodeNatPlan status, not nodes/proxy');
    });
  });
});

function condition(status: 'True' | 'False') {
  return { type: 'Ready', status, reason: status === 'True' ? 'RulesApplied' : 'ApplyFailed', message: `set to ${status} by the test`, lastTransitionTime: new Date().toISOString().replace(/\.\d+Z$/, 'Z') };
}

/** The agent's own status write (server-side apply on the status subresource). */
async function writeStatus(client: KubeClient, node: string, ready: 'True' | 'False'): Promise<NodeNatPlan> {
  const status: NodeNatPlanStatus = { conditions: [condition(ready)] };
  return (await applyStatus(client, { apiVersion: 'natplan.io/v1alpha1', kind: 'NodeNatPlan', metadata: { name: node }, status } as NodeNatPlan, { fieldManager: AGENT_FIELD_MANAGER })).object;
}

async function tokenBoundToPod(name: string): Promise<string> {
  const pod = await get<{ metadata: { uid: string } }>(admin, `/api/v1/namespaces/${NS}/pods/${name}`);
  return token({ boundObjectRef: { apiVersion: 'v1', kind: 'Pod', name, uid: pod.metadata.uid } });
}

/** A TokenRequest for the agent's ServiceAccount. */
const token = (spec: Record<string, unknown>): Promise<string> => serviceAccountToken(admin, NS, 'natplan-agent', spec);

/** A client that authenticates with nothing but the bearer token, as the agent in its pod. */
const agentClient = async (bearer: string): Promise<KubeClient> => bearerClient(cp, bearer);
