import { describe, expect, it } from 'vitest';
import { clientFromRequester, EventRecorder, Metrics, PermanentError, TemporaryError } from '@natplan/controller-kit';
import { FakeClock, recordingRequester } from '@natplan/controller-kit/testing';
import { FAILING_AFTER, Rejections } from './rejections.js';

const node = { apiVersion: 'v1', kind: 'Node', metadata: { name: 'node-1', uid: 'n-1' } };
const service = { apiVersion: 'v1', kind: 'Service', metadata: { namespace: 'shop', name: 'big', uid: 's-1' } };
const refusal = new PermanentError('ServiceNatPlan "big" is invalid: spec.ports: Too many: 3000: must have at most 128 items', { reason: 'Invalid' });

function setup() {
  const requester = recordingRequester(() => ({ statusCode: 201, body: {} }));
  const events = new EventRecorder({ client: clientFromRequester(requester), reportingController: 'natplan.io/operator', reportingInstance: 'test', clock: new FakeClock() });
  const metrics = new Metrics({ prefix: 'natplan_' });
  const posted = () => requester.requests.map((r) => JSON.parse(r.body!) as { type: string; reason: string; note: string; regarding: { kind: string; name: string }; metadata: { namespace: string } });
  return { rejections: new Rejections(events, metrics), metrics, posted };
}

describe('Rejections', () => {
  it('a refused plan: a Warning PlanRejected Event with the API reason and message, and the gauge counts it', async () => {
    const { rejections, metrics, posted } = setup();
    await rejections.rejected(service, 'shop/big', 'ServiceNatPlan', refusal);
    expect(posted()).toEqual([expect.objectContaining({ type: 'Warning', reason: 'PlanRejected', regarding: expect.objectContaining({ kind: 'Service', name: 'big' }) })]);
    expect(posted()[0]!.note).toContain('(Invalid)');
    expect(posted()[0]!.note).toContain('must have at most 128 items');
    const text = await metrics.text();
    expect(text).toContain('natplan_plans_rejected{kind="ServiceNatPlan"} 1');
    expect(text).toContain('natplan_plans_rejected{kind="NodeNatPlan"} 0');
  });

  it('the same refusal again is one Event, and a Node refusal goes on the Node (Events of cluster objects live in default)', async () => {
    const { rejections, metrics, posted } = setup();
    await rejections.rejected(service, 'shop/big', 'ServiceNatPlan', refusal);
    await rejections.rejected(service, 'shop/big', 'ServiceNatPlan', refusal);
    await rejections.rejected(node, 'node-1', 'NodeNatPlan', new PermanentError('too many addresses', { reason: 'Invalid' }));
    expect(posted().map((e) => [e.regarding.kind, e.reason, e.metadata.namespace])).toEqual([['Service', 'PlanRejected', 'shop'], ['Node', 'PlanRejected', 'default']]);
    expect(await metrics.text()).toContain('natplan_plans_rejected{kind="NodeNatPlan"} 1');
  });

  it('a plan written after a refusal says so once; one never refused says nothing', async () => {
    const { rejections, metrics, posted } = setup();
    await rejections.accepted(node, 'node-1', 'NodeNatPlan');
    expect(posted()).toEqual([]);
    await rejections.rejected(node, 'node-1', 'NodeNatPlan', refusal);
    await rejections.accepted(node, 'node-1', 'NodeNatPlan');
    await rejections.accepted(node, 'node-1', 'NodeNatPlan');
    expect(posted().map((e) => [e.type, e.reason])).toEqual([['Warning', 'PlanRejected'], ['Normal', 'PlanAccepted']]);
    expect(await metrics.text()).toContain('natplan_plans_rejected{kind="NodeNatPlan"} 0');
  });

  it('an object deleted while refused leaves the gauge without an Event', async () => {
    const { rejections, metrics, posted } = setup();
    await rejections.rejected(service, 'shop/big', 'ServiceNatPlan', refusal);
    await rejections.accepted(undefined, 'shop/big', 'ServiceNatPlan');
    expect(posted()).toHaveLength(1);
    expect(await metrics.text()).toContain('natplan_plans_rejected{kind="ServiceNatPlan"} 0');
  });

  it('a temporary failure is reported only once it keeps coming back, and its end is reported too', async () => {
    const { rejections, metrics, posted } = setup();
    const forbidden = new TemporaryError('servicenatplans is forbidden: User "natplan-operator" cannot patch', { reason: 'Forbidden' });
    for (let failures = 1; failures < FAILING_AFTER; failures++) await rejections.failed(service, 'shop/big', 'ServiceNatPlan', forbidden, failures);
    expect(posted()).toEqual([]);
    await rejections.failed(service, 'shop/big', 'ServiceNatPlan', forbidden, FAILING_AFTER);
    await rejections.failed(service, 'shop/big', 'ServiceNatPlan', forbidden, FAILING_AFTER + 1);
    await rejections.accepted(service, 'shop/big', 'ServiceNatPlan');
    expect(posted().map((e) => [e.type, e.reason])).toEqual([['Warning', 'PlanWriteFailing'], ['Normal', 'PlanAccepted']]);
    expect(posted()[0]!.note).toContain('(Forbidden)');
    expect(await metrics.text()).toContain('natplan_plans_rejected{kind="ServiceNatPlan"} 0'); // temporary: not a refusal
  });
});
