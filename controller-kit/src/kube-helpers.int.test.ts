import type { KubernetesObject, V1ConfigMap } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startControlPlane, type ControlPlane } from '@natplan/e2e/control-plane';
import { applyObject, applyStatus, deleteObject } from './apply.js';
import { controller } from './controller.js';
import { EventRecorder } from './events.js';
import { Informer } from './informer.js';
import { kubeClient, parseKey, type KubeClient } from './kube/client.js';
import { kubeListWatcher } from './kube/list-watch.js';
import { ApiError, call } from './kube/request.js';
import { addFinalizer, ownerReference, removeFinalizer } from './owners.js';
import { enqueueOnChange } from './sources.js';

let cp: ControlPlane;
let client: KubeClient;
const NS = 'kit-test';

beforeAll(async () => {
  cp = await startControlPlane({ installCrds: false });
  client = kubeClient(cp.kubeConfig);
  await applyObject(client, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: NS } }, { fieldManager: 'test' });
});

afterAll(async () => {
  await cp?.stop();
});

const configMap = (name: string, data: Record<string, string>, labels: Record<string, string> = {}): V1ConfigMap =>
  ({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace: NS, labels }, data });

async function eventually<T>(what: string, probe: () => T | undefined | Promise<T | undefined>, timeoutMs = 10_000): Promise<T> {
  const start = Date.now();
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() - start > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

describe('server-side apply', () => {
  it('creates, then removes fields the manager no longer applies, and counts bytes', async () => {
    const first = await applyObject(client, configMap('applied', { a: '1', b: '2' }), { fieldManager: 'kit' });
    expect(first.object.data).toEqual({ a: '1', b: '2' });
    expect(first.bytesWritten).toBe(Buffer.byteLength(JSON.stringify(configMap('applied', { a: '1', b: '2' }))));
    const second = await applyObject(client, { ...configMap('applied', { a: '1' }), metadata: { ...first.object.metadata } }, { fieldManager: 'kit' });
    expect(second.object.data).toEqual({ a: '1' });
    const again = await applyObject(client, second.object, { fieldManager: 'kit' });
    // Re-applying what was read back (server-set metadata included) is a no-op: nothing written.
    expect(again.object.metadata?.resourceVersion).toBe(second.object.metadata?.resourceVersion);
  });

  it('applies status through the status subresource', async () => {
    const svc = {
      apiVersion: 'v1', kind: 'Service', metadata: { name: 'lb', namespace: NS },
      spec: { type: 'LoadBalancer', ports: [{ port: 80, protocol: 'TCP' }] },
    };
    await applyObject(client, svc, { fieldManager: 'kit' });
    const status = { apiVersion: 'v1', kind: 'Service', metadata: { name: 'lb', namespace: NS }, status: { loadBalancer: { ingress: [{ ip: '192.0.2.10' }] } } };
    const { object } = await applyStatus(client, status, { fieldManager: 'kit-status' });
    expect((object as typeof status).status.loadBalancer.ingress).toMatchObject([{ ip: '192.0.2.10' }]);
  });

  it('reports server validation as ApiError', async () => {
    const err = await applyObject(client, configMap('Bad_Name', {}), { fieldManager: 'kit' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ApiError);
    expect((err as ApiError).statusCode).toBe(422);
  });
});

describe('Informer on the API server', () => {
  it('caches objects without managedFields unless asked to keep them', async () => {
    await applyObject(client, configMap('fields-1', { v: '1' }, { app: 'fields' }), { fieldManager: 'kit' });
    const target = { apiVersion: 'v1', kind: 'ConfigMap', namespace: NS, labelSelector: 'app=fields' };
    const stripped = new Informer<V1ConfigMap>(kubeListWatcher(cp.kubeConfig, client, target), { name: 'stripped' });
    const kept = new Informer<V1ConfigMap>(kubeListWatcher(cp.kubeConfig, client, { ...target, keepManagedFields: true }), { name: 'kept' });
    stripped.start();
    kept.start();
    try {
      expect(await stripped.waitForSync()).toBe(true);
      expect(await kept.waitForSync()).toBe(true);
      // From the list, then from the watch.
      await applyObject(client, configMap('fields-2', { v: '1' }, { app: 'fields' }), { fieldManager: 'kit' });
      for (const name of ['fields-1', 'fields-2']) {
        const key = `${NS}/${name}`;
        await eventually(`${name} in both caches`, () => (stripped.get(key) && kept.get(key) ? true : undefined));
        expect(kept.get(key)?.metadata?.managedFields?.[0]?.manager).toBe('kit');
        expect(stripped.get(key)?.metadata).not.toHaveProperty('managedFields');
        expect(stripped.get(key)?.metadata?.resourceVersion).toBe(kept.get(key)?.metadata?.resourceVersion);
      }
    } finally {
      await stripped.stop();
      await kept.stop();
    }
  });

  it('lists with a label selector, then sees adds, updates and deletes', async () => {
    await applyObject(client, configMap('watched-1', { v: '1' }, { app: 'kit' }), { fieldManager: 'kit' });
    await applyObject(client, configMap('ignored', { v: '1' }), { fieldManager: 'kit' });
    const informer = new Informer<V1ConfigMap>(
      kubeListWatcher(cp.kubeConfig, client, { apiVersion: 'v1', kind: 'ConfigMap', namespace: NS, labelSelector: 'app=kit', pageSize: 1 }),
      { name: 'configmaps' },
    );
    const events: string[] = [];
    informer.on({
      add: (o) => events.push(`add ${o.metadata?.name}`),
      update: (_, o) => events.push(`update ${o.metadata?.name} ${o.data?.v}`),
      delete: (o) => events.push(`delete ${o.metadata?.name}`),
    });
    informer.start();
    try {
      expect(await informer.waitForSync()).toBe(true);
      expect(informer.list().map((o) => o.metadata?.name)).toEqual(['watched-1']);
      expect(informer.get(`${NS}/watched-1`)?.kind).toBe('ConfigMap');
      await applyObject(client, configMap('watched-2', { v: '1' }, { app: 'kit' }), { fieldManager: 'kit' });
      await applyObject(client, configMap('watched-1', { v: '2' }, { app: 'kit' }), { fieldManager: 'kit' });
      await deleteObject(client, configMap('watched-2', {}));
      await eventually('three watch events', () => (events.length >= 4 ? true : undefined));
      expect(events).toEqual(['add watched-1', 'add watched-2', 'update watched-1 2', 'delete watched-2']);
    } finally {
      await informer.stop();
    }
  });
});

describe('Informer recovery', () => {
  it('keeps retrying while its kind is not served, and syncs once a CRD installs it', async () => {
    const informer = new Informer<KubernetesObject>(
      kubeListWatcher(cp.kubeConfig, client, { apiVersion: 'example.io/v1', kind: 'Widget' }),
      { name: 'widgets', backoff: { baseMs: 100, maxMs: 500 } },
    );
    const added: string[] = [];
    informer.on({ add: (o) => added.push(o.metadata?.name ?? '') });
    informer.start();
    try {
      // Failed, backed off, tried again: three lists, none of them a sync.
      await eventually('three failed lists', () => (informer.lists >= 3 ? true : undefined));
      expect(informer.hasSynced()).toBe(false);
      await applyObject(client, WIDGET_CRD, { fieldManager: 'kit' });
      expect(await informer.waitForSync()).toBe(true);
      await eventually('widget applied', () => applyObject(client, { apiVersion: 'example.io/v1', kind: 'Widget', metadata: { name: 'w1', namespace: NS }, spec: { size: 1 } }, { fieldManager: 'kit' }).then(() => true, () => undefined));
      await eventually('widget seen', () => (added.includes('w1') ? true : undefined));
    } finally {
      await informer.stop();
    }
  });
});

const WIDGET_CRD = {
  apiVersion: 'apiextensions.k8s.io/v1', kind: 'CustomResourceDefinition',
  metadata: { name: 'widgets.example.io' },
  spec: {
    group: 'example.io', scope: 'Namespaced',
    names: { plural: 'widgets', singular: 'widget', kind: 'Widget', listKind: 'WidgetList' },
    versions: [{
      name: 'v1', served: true, storage: true, subresources: { status: {} },
      schema: { openAPIV3Schema: { type: 'object', properties: { spec: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true }, status: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true } } } },
    }],
  },
};

describe('controller end to end', () => {
  it('reconciles sources into owned objects, level-based', async () => {
    const informer = new Informer<V1ConfigMap>(
      kubeListWatcher(cp.kubeConfig, client, { apiVersion: 'v1', kind: 'ConfigMap', namespace: NS, labelSelector: 'role=source' }),
      { name: 'sources' },
    );
    const c = controller({
      name: 'mirror',
      reconcile: async (key) => {
        const source = informer.get(key);
        if (!source) return; // owned copy goes with its owner (garbage collection)
        const { name, namespace } = parseKey(key);
        const copy: V1ConfigMap = {
          ...configMap(`${name}-copy`, source.data ?? {}),
          metadata: { name: `${name}-copy`, namespace, ownerReferences: [ownerReference(source)] },
        };
        await applyObject(client, copy, { fieldManager: 'mirror' });
      },
    });
    enqueueOnChange(informer, c.queue);
    informer.start();
    c.start();
    try {
      await applyObject(client, configMap('src', { k: 'v1' }, { role: 'source' }), { fieldManager: 'kit' });
      const read = () => call<V1ConfigMap>(client.requester, { method: 'GET', path: `/api/v1/namespaces/${NS}/configmaps/src-copy` }).catch(() => undefined);
      await eventually('copy v1', async () => ((await read())?.data?.k === 'v1' ? true : undefined));
      await applyObject(client, configMap('src', { k: 'v2' }, { role: 'source' }), { fieldManager: 'kit' });
      const copy = await eventually('copy v2', async () => { const o = await read(); return o?.data?.k === 'v2' ? o : undefined; });
      expect(copy.metadata?.ownerReferences?.[0]).toMatchObject({ kind: 'ConfigMap', name: 'src', controller: true });
    } finally {
      await c.stop();
      await informer.stop();
    }
  });
});

describe('events and finalizers', () => {
  it('records an events.k8s.io Event the server accepts', async () => {
    const { object } = await applyObject(client, configMap('with-event', {}), { fieldManager: 'kit' });
    const recorder = new EventRecorder({ client, reportingController: 'example.io/kit', reportingInstance: 'test-1' });
    expect(await recorder.record(object, { type: 'Warning', reason: 'Testing', action: 'Check', note: 'hello' })).toBe(true);
    const list = await call<{ items: Array<{ reason: string; eventTime: string; regarding: { name: string; uid: string } }> }>(client.requester, {
      method: 'GET', path: `/apis/events.k8s.io/v1/namespaces/${NS}/events`,
    });
    const event = list.items.find((e) => e.regarding.name === 'with-event');
    expect(event).toMatchObject({ reason: 'Testing', regarding: { uid: object.metadata?.uid } });
    expect(event?.eventTime).toMatch(/\.\d{6}Z$/);
  });

  it('the server rejects a three-digit MicroTime (why times are formatted by hand)', async () => {
    const err = await call(client.requester, {
      method: 'POST', path: '/apis/coordination.k8s.io/v1/namespaces/default/leases',
      body: JSON.stringify({ apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', metadata: { name: 'three-digits' }, spec: { renewTime: new Date().toISOString() } }),
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ApiError);
  });

  it('a finalizer holds deletion until removed', async () => {
    const { object } = await applyObject(client, configMap('finalized', {}), { fieldManager: 'kit' });
    const held = await addFinalizer(client, object, 'example.io/cleanup');
    expect(held.metadata?.finalizers).toEqual(['example.io/cleanup']);
    await deleteObject(client, held);
    const path = `/api/v1/namespaces/${NS}/configmaps/finalized`;
    const deleting = await call<KubernetesObject>(client.requester, { method: 'GET', path });
    expect(deleting.metadata?.deletionTimestamp).toBeDefined();
    await removeFinalizer(client, deleting, 'example.io/cleanup');
    await eventually('deleted', async () => (await call(client.requester, { method: 'GET', path }).then(() => undefined, () => true)));
  });
});
