import { describe, expect, it } from 'vitest';
import { EventRecorder } from './events.js';
import { clientFromRequester } from './kube/client.js';
import { FakeClock } from './testing/fake-clock.js';
import { recordingRequester } from './testing/recording-requester.js';

const policy = { apiVersion: 'example.io/v1', kind: 'Widget', metadata: { namespace: 'ns', name: 'w', uid: 'u-1', resourceVersion: '5' } };
const conflict = { type: 'Warning' as const, reason: 'Conflict', action: 'Reconcile', note: 'port 80 taken' };

function setup(status = 201) {
  const clock = new FakeClock();
  const requester = recordingRequester(() => ({ statusCode: status, body: {} }));
  const recorder = new EventRecorder({
    client: clientFromRequester(requester), reportingController: 'example.io/ctl', reportingInstance: 'pod-1',
    clock, dedupeWindowMs: 60_000, burst: 3, refillEveryMs: 10_000,
  });
  return { clock, requester, recorder };
}

describe('EventRecorder', () => {
  it('posts an events.k8s.io/v1 Event with a six-digit MicroTime and the object reference', async () => {
    const { requester, recorder } = setup();
    expect(await recorder.record(policy, conflict)).toBe(true);
    const req = requester.requests[0]!;
    expect(req).toMatchObject({ method: 'POST', path: '/apis/events.k8s.io/v1/namespaces/ns/events' });
    const body = JSON.parse(req.body!);
    expect(body).toMatchObject({
      reportingController: 'example.io/ctl', reportingInstance: 'pod-1', type: 'Warning', reason: 'Conflict', action: 'Reconcile', note: 'port 80 taken',
      regarding: { apiVersion: 'example.io/v1', kind: 'Widget', namespace: 'ns', name: 'w', uid: 'u-1' },
    });
    expect(body.eventTime).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/);
    expect(body.metadata.name).toMatch(/^w\.[0-9a-f]+$/);
  });

  it('suppresses an identical event within the dedupe window, not a different one', async () => {
    const { clock, requester, recorder } = setup();
    await recorder.record(policy, conflict);
    expect(await recorder.record(policy, conflict)).toBe(false);
    expect(await recorder.record(policy, { ...conflict, note: 'port 81 taken' })).toBe(true);
    await clock.advance(60_000);
    expect(await recorder.record(policy, conflict)).toBe(true);
    expect(requester.requests).toHaveLength(3);
    expect(recorder.suppressed).toBe(1);
  });

  it('rate-limits per object with a token bucket', async () => {
    const { clock, recorder } = setup();
    const results: boolean[] = [];
    for (let i = 0; i < 5; i++) results.push(await recorder.record(policy, { ...conflict, note: `n${i}` }));
    expect(results).toEqual([true, true, true, false, false]);
    expect(await recorder.record({ ...policy, metadata: { ...policy.metadata, name: 'other', uid: 'u-2' } }, conflict)).toBe(true);
    await clock.advance(10_000);
    expect(await recorder.record(policy, { ...conflict, note: 'n9' })).toBe(true);
    expect(await recorder.record(policy, { ...conflict, note: 'n10' })).toBe(false);
  });

  it('puts events of cluster-scoped objects in default, cuts long notes, and never throws', async () => {
    const { requester, recorder } = setup(500);
    const node = { apiVersion: 'v1', kind: 'Node', metadata: { name: 'n1' } };
    expect(await recorder.record(node, { ...conflict, note: 'é'.repeat(2000) })).toBe(false);
    const req = requester.requests[0]!;
    expect(req.path).toBe('/apis/events.k8s.io/v1/namespaces/default/events');
    expect(Buffer.byteLength(JSON.parse(req.body!).note)).toBeLessThanOrEqual(1024);
  });
});
