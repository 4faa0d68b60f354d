import { describe, expect, it } from 'vitest';
import { clientFromRequester } from './kube/client.js';
import { addFinalizer, isBeingDeleted, ownerReference, removeFinalizer } from './owners.js';
import { discovery, recordingRequester } from './testing/recording-requester.js';

const svc = { apiVersion: 'v1', kind: 'Service', metadata: { namespace: 'ns', name: 's', uid: 'u', resourceVersion: '4', finalizers: ['other/f'] } };

describe('owners and finalizers', () => {
  it('builds a controller owner reference and refuses an owner without uid', () => {
    expect(ownerReference(svc)).toEqual({ apiVersion: 'v1', kind: 'Service', name: 's', uid: 'u', controller: true, blockOwnerDeletion: false });
    expect(() => ownerReference({ apiVersion: 'v1', kind: 'Service', metadata: { name: 's' } })).toThrow(/uid/);
  });

  it('patches the whole finalizer list guarded by resourceVersion, and skips no-op changes', async () => {
    const requester = recordingRequester((req) => discovery(req) ?? { statusCode: 200, body: {} });
    const client = clientFromRequester(requester);
    await addFinalizer(client, svc, 'me/f');
    const patch = requester.requests.at(-1)!;
    expect(patch).toMatchObject({ method: 'PATCH', path: '/api/v1/namespaces/ns/services/s', contentType: 'application/merge-patch+json' });
    expect(JSON.parse(patch.body!)).toEqual({ metadata: { finalizers: ['other/f', 'me/f'], resourceVersion: '4' } });
    const count = requester.requests.length;
    await addFinalizer(client, svc, 'other/f');
    await removeFinalizer(client, svc, 'absent/f');
    expect(requester.requests).toHaveLength(count);
    await removeFinalizer(client, svc, 'other/f');
    expect(JSON.parse(requester.requests.at(-1)!.body!).metadata.finalizers).toEqual([]);
    expect(isBeingDeleted(svc)).toBe(false);
  });
});
