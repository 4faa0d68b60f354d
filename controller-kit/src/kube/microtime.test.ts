import { describe, expect, it } from 'vitest';
import { formatMicroTime, parseMicroTime } from './microtime.js';
import { resourcePath, type ResourceType } from './resources.js';

describe('MicroTime', () => {
  it('formats with exactly six fractional digits', () => {
    expect(formatMicroTime(Date.UTC(2026, 0, 2, 3, 4, 5, 67))).toBe('2026-01-02T03:04:05.067000Z');
    expect(formatMicroTime(Date.UTC(2026, 0, 2, 3, 4, 5, 0))).toBe('2026-01-02T03:04:05.000000Z');
  });

  it.each([
    ['2026-01-02T03:04:05.067123Z', Date.UTC(2026, 0, 2, 3, 4, 5, 67)],
    ['2026-01-02T03:04:05Z', Date.UTC(2026, 0, 2, 3, 4, 5)],
    ['2026-01-02T05:04:05.5+02:00', Date.UTC(2026, 0, 2, 3, 4, 5, 500)],
  ])('parses %s', (text, ms) => {
    expect(parseMicroTime(text)).toBe(ms);
  });

  it('round-trips', () => {
    const t = Date.UTC(2026, 5, 30, 23, 59, 59, 999);
    expect(parseMicroTime(formatMicroTime(t))).toBe(t);
  });
});

describe('resourcePath', () => {
  const lease: ResourceType = { apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', plural: 'leases', namespaced: true };
  const node: ResourceType = { apiVersion: 'v1', kind: 'Node', plural: 'nodes', namespaced: false };
  it.each([
    [lease, {}, '/apis/coordination.k8s.io/v1/leases'],
    [lease, { namespace: 'kube-system' }, '/apis/coordination.k8s.io/v1/namespaces/kube-system/leases'],
    [lease, { namespace: 'a', name: 'b', subresource: 'status' }, '/apis/coordination.k8s.io/v1/namespaces/a/leases/b/status'],
    [node, { name: 'n1', namespace: 'ignored' }, '/api/v1/nodes/n1'],
  ])('%#', (type, at, path) => {
    expect(resourcePath(type, at)).toBe(path);
  });

  it('refuses a namespaced object without namespace', () => {
    expect(() => resourcePath(lease, { name: 'x' })).toThrow(/namespace required/);
  });
});
