import { describe, expect, it } from 'vitest';
import type { V1Service } from '@kubernetes/client-node';
import { decideHandling, SERVICE_PROXY_NAME_LABEL } from './selection.js';
import { makeConfig, makeService } from './test-builders.js';

const labelled = (value: string) => (s: V1Service) => {
  s.metadata!.labels = { [SERVICE_PROXY_NAME_LABEL]: value };
};
const headless = (s: V1Service) => {
  s.spec!.clusterIP = 'None';
  s.spec!.clusterIPs = ['None'];
};
const externalName = (s: V1Service) => {
  s.spec = { type: 'ExternalName', externalName: 'db.example.org' };
};
const unallocated = (s: V1Service) => {
  s.spec!.clusterIP = undefined;
  s.spec!.clusterIPs = undefined;
};

describe('decideHandling', () => {
  it.each([
    // case, mode, mutate, exposed, expected kind, expected reason
    ['unlabelled', 'replace', undefined, false, 'full', undefined],
    ['labelled natplan', 'replace', labelled('natplan'), false, 'full', undefined],
    ['labelled for another proxy', 'replace', labelled('cilium'), false, 'skip', 'OtherProxy'],
    ['another proxy, exposed by a policy', 'replace', labelled('cilium'), true, 'exposureOnly', 'OtherProxy'],
    ['unlabelled', 'complement', undefined, false, 'skip', 'NotOurs'],
    ['unlabelled, exposed by a policy', 'complement', undefined, true, 'exposureOnly', 'NotOurs'],
    ['labelled natplan', 'complement', labelled('natplan'), false, 'full', undefined],
    ['labelled for another proxy', 'complement', labelled('cilium'), false, 'skip', 'OtherProxy'],
    ['headless', 'replace', headless, false, 'skip', 'Headless'],
    ['headless, exposed by a policy', 'replace', headless, true, 'exposureOnly', 'Headless'],
    ['ExternalName', 'replace', externalName, false, 'skip', 'ExternalName'],
    ['ExternalName, exposed by a policy', 'replace', externalName, true, 'skip', 'ExternalName'],
    ['no cluster IP yet', 'replace', unallocated, false, 'skip', 'NoClusterIP'],
  ] as const)('%s (%s mode)', (_case, mode, mutate, exposed, kind, reason) => {
    const handling = decideHandling(makeService('ns1', 'svc1', mutate), makeConfig({ mode }), exposed);
    expect(handling.kind).toBe(kind);
    if (handling.kind === 'skip') expect(handling.reason).toBe(reason);
    if (handling.kind === 'exposureOnly') expect(handling.because).toBe(reason);
  });
});
