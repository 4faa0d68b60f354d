import { describe, expect, it } from 'vitest';
import {
  clientFromRequester, Metrics, NotLeadingError, PermanentError, silentLogger, TemporaryError,
} from '@natplan/controller-kit';
import type { ApiResponse } from '@natplan/controller-kit';
import { recordingRequester } from '@natplan/controller-kit/testing';
import { PlanWriter } from './plan-writer.js';

const plan = { apiVersion: 'natplan.io/v1alpha1', kind: 'ServiceNatPlan', metadata: { namespace: 'shop', name: 'big' }, spec: { part: 0 } };
const discovery: ApiResponse = { statusCode: 200, body: { resources: [{ name: 'servicenatplans', kind: 'ServiceNatPlan', namespaced: true }] } };

function writerAnswering(answer: () => ApiResponse | Promise<ApiResponse>) {
  const requester = recordingRequester((r) => (r.method === 'GET' ? discovery : answer()));
  const metrics = new Metrics({ prefix: 'natplan_' });
  return { writer: new PlanWriter(clientFromRequester(requester), metrics, silentLogger), metrics };
}

describe('PlanWriter', () => {
  it.each([
    [422, 'Invalid', PermanentError, 'permanent'],
    [503, 'ServiceUnavailable', TemporaryError, 'temporary'],
  ] as const)('a %i is thrown typed and counted by kind, class and reason', async (statusCode, reason, type, kind) => {
    const { writer, metrics } = writerAnswering(() => ({ statusCode, body: { kind: 'Status', reason, message: 'no' } }));
    await expect(writer.apply(plan, undefined)).rejects.toBeInstanceOf(type);
    expect(await metrics.text()).toContain(`natplan_plan_errors_total{kind="ServiceNatPlan",class="${kind}",reason="${reason}"} 1`);
  });

  it('a write fenced after leadership ended is rethrown as it is and not counted', async () => {
    const { writer, metrics } = writerAnswering(() => Promise.reject(new NotLeadingError('not leading')));
    await expect(writer.apply(plan, undefined)).rejects.toBeInstanceOf(NotLeadingError);
    expect(await metrics.text()).not.toContain('natplan_plan_errors_total{');
  });

  it('recognises a plan holding what it last applied, and nothing else', async () => {
    const { writer } = writerAnswering(() => ({ statusCode: 200, body: plan }));
    const seen = (spec: object, name = 'big') => ({ ...plan, metadata: { ...plan.metadata, name, resourceVersion: '7', managedFields: [] }, spec });
    expect(writer.isAsDecided(seen({ part: 0 }))).toBe(false); // never applied by this writer
    await writer.apply(plan, undefined);
    expect(writer.isAsDecided(seen({ part: 0 }))).toBe(true); // its own write back, server fields added
    expect(writer.isAsDecided(seen({ part: 1 }))).toBe(false); // an owned field edited by hand
    expect(writer.isAsDecided(seen({ part: 0 }, 'other'))).toBe(false);
    await writer.delete(plan);
    expect(writer.isAsDecided(seen({ part: 0 }))).toBe(false); // deleted: a recreated plan is looked at
    await writer.apply(plan, undefined);
    writer.forgetDecisions(); // a new term
    expect(writer.isAsDecided(seen({ part: 0 }))).toBe(false);
  });
});
