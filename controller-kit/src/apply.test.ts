import { describe, expect, it } from 'vitest';
import { applyObject, applyStatus, deleteObject } from './apply.js';
import { clientFromRequester } from './kube/client.js';
import { ApiError } from './kube/request.js';
import { discovery, recordingRequester } from './testing/recording-requester.js';

function setup(answer: (body: unknown) => { statusCode: number; body: unknown } = (body) => ({ statusCode: 200, body })) {
  const requester = recordingRequester((req) => discovery(req) ?? answer(req.body ? JSON.parse(req.body) : undefined));
  return { requester, client: clientFromRequester(requester) };
}

describe('applyObject', () => {
  it('sends an apply patch with fieldManager and force, without server-set metadata', async () => {
    const { requester, client } = setup();
    const cm = {
      apiVersion: 'v1', kind: 'ConfigMap',
      metadata: { name: 'c', namespace: 'ns', resourceVersion: '7', uid: 'u', generation: 2, creationTimestamp: new Date(0), managedFields: [{ manager: 'x' }] },
      data: { a: '1' },
    };
    const result = await applyObject(client, cm, { fieldManager: 'me' });
    const patch = requester.requests.at(-1)!;
    expect(patch).toMatchObject({
      method: 'PATCH', path: '/api/v1/namespaces/ns/configmaps/c',
      contentType: 'application/apply-patch+yaml', query: { fieldManager: 'me', force: true },
    });
    const sent = JSON.parse(patch.body!);
    expect(sent).toEqual({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c', namespace: 'ns' }, data: { a: '1' } });
    expect(result.bytesWritten).toBe(Buffer.byteLength(patch.body!));
    expect(cm.metadata.resourceVersion).toBe('7'); // input untouched
  });

  it('applies status through the status subresource, and cluster-scoped paths have no namespace', async () => {
    const { requester, client } = setup();
    await applyStatus(client, { apiVersion: 'v1', kind: 'Node', metadata: { name: 'n1' }, status: {} }, { fieldManager: 'me', force: false });
    expect(requester.requests.at(-1)).toMatchObject({ path: '/api/v1/nodes/n1/status', query: { force: false } });
  });

  it('turns an error status into ApiError with the reason', async () => {
    const { client } = setup(() => ({ statusCode: 422, body: { kind: 'Status', reason: 'Invalid', message: 'spec.x: bad' } }));
    const err = await applyObject(client, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c', namespace: 'ns' } }, { fieldManager: 'me' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ApiError);
    expect(err).toMatchObject({ statusCode: 422, reason: 'Invalid' });
    expect((err as Error).message).toContain('spec.x: bad');
  });

  it('fails clearly for a kind the server does not serve', async () => {
    const { client } = setup();
    await expect(applyObject(client, { apiVersion: 'v1', kind: 'Nope', metadata: { name: 'x' } }, { fieldManager: 'me' })).rejects.toThrow(/Nope not served/);
  });
});

describe('deleteObject', () => {
  it('reports whether the object existed', async () => {
    const { client } = setup(() => ({ statusCode: 404, body: { reason: 'NotFound' } }));
    expect(await deleteObject(client, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c', namespace: 'ns' } })).toBe(false);
  });
});
