/**
 * Only the operator decides, on a real API server with real tokens: the chart's
 * plan-writer ValidatingAdmissionPolicy refuses ServiceNatPlan and NodeNatPlan writes from
 * anyone but the operator's ServiceAccount, the garbage collector and system:masters. The
 * attack it closes: a tenant with a wildcard role in its own namespace (RBAC allows it
 * everything there) writes a plan for another Service's address, which every agent would
 * program. The real kube-controller-manager runs with per-controller ServiceAccounts, so
 * the garbage collector orphaning a plan is the identity a kubeadm cluster has. Last, the
 * chart's additions to Kubernetes' default roles: a namespace editor writes exposure
 * policies and reads plans, and still writes no plan.
 * Addresses: cluster IPs 10.96.0.0/16, pods 10.244.0.0/16.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiError, applyObject, call, kubeClient, type KubeClient } from '@natplan/controller-kit';
import type { ServiceNatPlan } from '@natplan/api';
import { FIELD_MANAGER } from '@natplan/operator';
import { crdsDir, helm, kubectl, startControllerManager, startControlPlane, waitFor, type ControlPlane } from '../control-plane/index.js';
import { bearerClient, get, post, refusal, serviceAccountToken } from './clients.js';

const chart = join(crdsDir, '..', 'charts', 'natplan');
const NS = 'natplan-system';
const TENANT_NS = 'team-a';
const POLICY = 'natplan-plan-writer';
const PLANS = `/apis/natplan.io/v1alpha1/namespaces/${TENANT_NS}/servicenatplans`;

let cp: ControlPlane;
let admin: KubeClient;
let operator: KubeClient;
let tenant: KubeClient;

/** A plan taking the cluster DNS's address, the kind of plan a tenant must not be able to write. */
function plan(name: string, owner?: { uid: string }): ServiceNatPlan {
  return {
    apiVersion: 'natplan.io/v1alpha1', kind: 'ServiceNatPlan',
    metadata: { name, namespace: TENANT_NS, ...(owner ? { ownerReferences: [{ apiVersion: 'v1', kind: 'Service', name, uid: owner.uid, controller: true }] } : {}) },
    spec: {
      service: { name }, part: 0, ipFamilies: ['IPv4'], clusterIPs: ['10.96.0.10'], ports: [{ name: 'dns', protocol: 'UDP', port: 53 }],
      sessionAffinity: { type: 'None' }, externalTrafficPolicy: 'Cluster', internalTrafficPolicy: 'Cluster', endpointCount: 1,
      endpoints: [{ address: '10.244.9.9', nodeName: 'node-a', ready: true, serving: true, terminating: false, ports: [{ name: 'dns', port: 53 }], forCluster: true, forLocal: true }],
    },
  };
}

const write = (client: KubeClient, obj: ServiceNatPlan) => applyObject(client, obj, { fieldManager: FIELD_MANAGER });

beforeAll(async () => {
  cp = await startControlPlane();
  admin = kubeClient(cp.kubeConfig);
  await startControllerManager(cp, { controllers: ['garbagecollector', 'serviceaccount', 'clusterrole-aggregation'], serviceAccountCredentials: true });
  const install = await helm(cp.kubeconfigPath, ['install', 'natplan', chart, '--namespace', NS, '--create-namespace', '--set', 'crds.enabled=false', '--wait=false']);
  if (install.code !== 0) throw new Error(install.stderr);
  operator = bearerClient(cp, await serviceAccountToken(admin, NS, 'natplan-operator'));
  // The tenant: a ServiceAccount with every verb on every resource of its own namespace.
  await post(admin, '/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: TENANT_NS } });
  await post(admin, `/api/v1/namespaces/${TENANT_NS}/serviceaccounts`, { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'tenant' } });
  await post(admin, '/apis/rbac.authorization.k8s.io/v1/clusterroles', {
    apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRole', metadata: { name: 'namespace-owner' },
    rules: [{ apiGroups: ['*'], resources: ['*'], verbs: ['*'] }],
  });
  await post(admin, `/apis/rbac.authorization.k8s.io/v1/namespaces/${TENANT_NS}/rolebindings`, {
    apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'RoleBinding', metadata: { name: 'tenant-owns-team-a' },
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'namespace-owner' },
    subjects: [{ kind: 'ServiceAccount', name: 'tenant', namespace: TENANT_NS }],
  });
  tenant = bearerClient(cp, await serviceAccountToken(admin, TENANT_NS, 'tenant'));
  // In force once the API server's admission informer has the policy, and RBAC has the binding.
  await waitFor('the plan-writer policy in force', async () => {
    const err = await write(tenant, plan('probe')).then(() => undefined, (e: unknown) => e);
    return err instanceof ApiError && err.statusCode === 403 && err.message.includes(POLICY) ? true : undefined;
  }, 30_000, 200);
}, 120_000);
afterAll(async () => { await cp?.stop(); });

describe('the plan-writer policy', () => {
  it('RBAC alone would let the tenant create plans in its namespace', async () => {
    const review = await post<{ status: { allowed: boolean } }>(tenant, '/apis/authorization.k8s.io/v1/selfsubjectaccessreviews', {
      apiVersion: 'authorization.k8s.io/v1', kind: 'SelfSubjectAccessReview',
      spec: { resourceAttributes: { group: 'natplan.io', resource: 'servicenatplans', verb: 'create', namespace: TENANT_NS } },
    });
    expect(review.status.allowed).toBe(true);
  });

  it('refuses the tenant\'s plan for the cluster DNS\'s address, by name and reason', async () => {
    const err = await refusal(write(tenant, plan('dns-takeover')));
    expect(err.message).toContain(`ValidatingAdmissionPolicy '${POLICY}'`);
    expect(err.message).toContain(`only the natplan operator writes servicenatplans (every node programs them); system:serviceaccount:${TENANT_NS}:tenant may not`);
    await expect(get(admin, `${PLANS}/dns-takeover`)).rejects.toMatchObject({ statusCode: 404 });
  });

  it('lets the operator write, and refuses the tenant\'s edit of the operator\'s plan (apply, merge patch, replace)', async () => {
    const written = (await write(operator, plan('web'))).object;
    expect(written.spec.clusterIPs).toEqual(['10.96.0.10']);
    const edited = { ...plan('web'), spec: { ...plan('web').spec, endpoints: [{ ...plan('web').spec.endpoints![0]!, address: '10.244.6.6' }] } };
    await refusal(write(tenant, edited));
    await refusal(call(tenant.requester, { method: 'PATCH', path: `${PLANS}/web`, contentType: 'application/merge-patch+json', body: JSON.stringify({ spec: { clusterIPs: ['10.96.0.1'] } }) }));
    await refusal(call(tenant.requester, { method: 'PUT', path: `${PLANS}/web`, body: JSON.stringify({ ...edited, metadata: { ...edited.metadata, resourceVersion: written.metadata?.resourceVersion } }) }));
    expect((await get<ServiceNatPlan>(admin, `${PLANS}/web`)).spec.endpoints?.[0]?.address).toBe('10.244.9.9');
  });

  it('refuses a NodeNatPlan from the tenant too (a cluster-scoped kind a wider role might reach)', async () => {
    await post(admin, '/apis/rbac.authorization.k8s.io/v1/clusterrolebindings', {
      apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRoleBinding', metadata: { name: 'tenant-too-wide' },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'namespace-owner' },
      subjects: [{ kind: 'ServiceAccount', name: 'tenant', namespace: TENANT_NS }],
    });
    try {
      // RBAC's authorizer reads bindings from an informer: wait until it lets the tenant
      // patch NodeNatPlans, so that the refusal below can only be the policy's.
      await waitFor('RBAC has the wider binding', async () => {
        const review = await post<{ status: { allowed: boolean } }>(tenant, '/apis/authorization.k8s.io/v1/selfsubjectaccessreviews', {
          apiVersion: 'authorization.k8s.io/v1', kind: 'SelfSubjectAccessReview',
          spec: { resourceAttributes: { group: 'natplan.io', resource: 'nodenatplans', verb: 'patch', name: 'node-a' } },
        });
        return review.status.allowed || undefined;
      }, 30_000, 200);
      const nodePlan = { apiVersion: 'natplan.io/v1alpha1', kind: 'NodeNatPlan', metadata: { name: 'node-a' }, spec: { nodeName: 'node-a', masqueradeAll: true } };
      const err = await refusal(applyObject(tenant, nodePlan, { fieldManager: FIELD_MANAGER }));
      expect(err.message).toContain('only the natplan operator writes nodenatplans');
    } finally {
      await call(admin.requester, { method: 'DELETE', path: '/apis/rbac.authorization.k8s.io/v1/clusterrolebindings/tenant-too-wide' });
    }
  });

  it('leaves deletes to RBAC: the tenant may delete a plan in its namespace (the operator rewrites it)', async () => {
    await write(operator, plan('gone'));
    await call(tenant.requester, { method: 'DELETE', path: `${PLANS}/gone` });
    await expect(get(admin, `${PLANS}/gone`)).rejects.toMatchObject({ statusCode: 404 });
  });

  it('lets the garbage collector orphan a plan when its Service is deleted with --cascade=orphan', async () => {
    const svc = await post<{ metadata: { uid: string } }>(admin, `/api/v1/namespaces/${TENANT_NS}/services`, {
      apiVersion: 'v1', kind: 'Service', metadata: { name: 'api' }, spec: { ports: [{ port: 53, protocol: 'UDP' }] },
    });
    await write(operator, plan('api', svc.metadata));
    const r = await kubectl(cp.kubeconfigPath, ['delete', 'service', 'api', '-n', TENANT_NS, '--cascade=orphan', '--wait=false']);
    expect(r.code, r.stderr).toBe(0);
    // The orphan finalizer is removed only after the collector rewrote the plan's owner references.
    await waitFor('the Service gone and the plan orphaned', async () => {
      const gone = await get(admin, `/api/v1/namespaces/${TENANT_NS}/services/api`).then(() => false, (e: unknown) => e instanceof ApiError && e.statusCode === 404);
      const owners = (await get<ServiceNatPlan>(admin, `${PLANS}/api`)).metadata?.ownerReferences ?? [];
      return gone && owners.length === 0 ? true : undefined;
    }, 60_000, 200);
  });
});

describe('the chart\'s additions to the default namespace roles', () => {
  const TEAM = 'team-b';
  const can = async (client: KubeClient, verb: string, resource: string, namespace = TEAM) => (await post<{ status: { allowed: boolean } }>(client, '/apis/authorization.k8s.io/v1/selfsubjectaccessreviews', {
    apiVersion: 'authorization.k8s.io/v1', kind: 'SelfSubjectAccessReview', spec: { resourceAttributes: { group: 'natplan.io', resource, verb, namespace } },
  })).status.allowed;
  const bound = async (role: 'admin' | 'edit' | 'view') => {
    await post(admin, `/api/v1/namespaces/${TEAM}/serviceaccounts`, { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: role } });
    await post(admin, `/apis/rbac.authorization.k8s.io/v1/namespaces/${TEAM}/rolebindings`, {
      apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'RoleBinding', metadata: { name: role },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: role }, subjects: [{ kind: 'ServiceAccount', name: role, namespace: TEAM }],
    });
    return bearerClient(cp, await serviceAccountToken(admin, TEAM, role));
  };

  it.each(['admin', 'edit', 'view'] as const)('%s: exposure policies and plans as the chart grants them, and no plan writes', async (role) => {
    await post(admin, '/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: TEAM } }).catch((e: unknown) => {
      if (!(e instanceof ApiError && e.statusCode === 409)) throw e;
    });
    const user = await bound(role);
    const writes = role !== 'view';
    // The aggregation controller fills the default roles shortly after the chart's roles appear.
    await waitFor(`${role} may read exposure policies`, async () => ((await can(user, 'list', 'natexposurepolicies')) ? true : undefined), 30_000, 200);
    expect(await can(user, 'watch', 'servicenatplans')).toBe(true);
    expect(await can(user, 'create', 'natexposurepolicies')).toBe(writes);
    expect(await can(user, 'delete', 'natexposurepolicies')).toBe(writes);
    for (const verb of ['create', 'update', 'patch']) expect(await can(user, verb, 'servicenatplans')).toBe(false);
    expect(await can(user, 'patch', 'natexposurepolicies/status')).toBe(false);
    expect(await can(user, 'list', 'natexposurepolicies', 'team-a')).toBe(false);
  });
});
