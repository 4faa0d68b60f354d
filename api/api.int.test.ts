/**
 * The natplan API on a real kube-apiserver: the CRDs install with `kubectl apply`, every
 * example is accepted, every invalid case is rejected with the expected message (and the
 * ajv validators agree), printer columns make `kubectl get` a dashboard, and status is a
 * subresource written apart from spec.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { kubectl, startControlPlane, type ControlPlane } from '@natplan/e2e/control-plane';
import { exampleFiles, invalidCases, loadExample, validEdgeCases, type ApiObject } from './validation/cases.js';
import { validateObject } from './validation/index.js';

let cp: ControlPlane;
const run = async (args: string[], input?: string) => kubectl(cp.kubeconfigPath, args, input);

beforeAll(async () => {
  cp = await startControlPlane({ installCrds: false });
  for (const ns of ['shop', 'games']) expect((await run(['create', 'namespace', ns])).code).toBe(0);
});
afterAll(async () => { await cp?.stop(); });

function create(obj: ApiObject) {
  return run(['create', '--validate=strict', '-f', '-'], JSON.stringify(obj));
}

describe('the CRDs', () => {
  // The documented install (docs/install.md, GitOps): crds/ holds the CRDs and nothing else
  // kubectl would read (the code of the API is the @natplan/api package, in api/).
  it('install with kubectl apply -f crds/ and become established', async () => {
    const applied = await run(['apply', '--server-side', '--validate=strict', '-f', 'crds/']);
    expect(applied.stderr).toBe('');
    expect(applied.code).toBe(0);
    const established = await run(['wait', '--for=condition=Established', '--timeout=60s', 'crd', '-l', '!none', '--all']);
    expect(established.code, established.stderr).toBe(0);
    const resources = await run(['api-resources', '--api-group=natplan.io', '-o', 'name']);
    expect(resources.stdout.split('\n').filter(Boolean).sort()).toEqual(['natexposuregrants.natplan.io', 'natexposurepolicies.natplan.io', 'nodenatplans.natplan.io', 'servicenatplans.natplan.io']);
  });

  it('answer to their short names and to the natplan category', async () => {
    for (const name of ['snp', 'nnp', 'nep', 'neg', 'natplan']) {
      const r = await run(['get', name, '-A']);
      expect(r.code, `${name}: ${r.stderr}`).toBe(0);
    }
  });
});

describe('examples and invalid objects', () => {
  it.each(exampleFiles())('the API server and ajv accept %s', async (file) => {
    const obj = loadExample(file);
    expect(validateObject(obj)).toEqual({ valid: true });
    const r = await create(obj);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
  });

  it.each(validEdgeCases)('the API server and ajv accept $name', async ({ object }) => {
    expect(validateObject(object)).toEqual({ valid: true });
    const r = await create(object);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    // Gone again, so the listings below see only the examples.
    const deleted = await run(['delete', '-f', '-'], JSON.stringify(object));
    expect(deleted.code, deleted.stderr).toBe(0);
  });

  it.each(invalidCases)('the API server and ajv reject $name', async ({ object, field, serverSays }) => {
    const r = await create(object);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain(serverSays);
    if (field) expect(r.stderr).toContain(field);
    const ajv = validateObject(object);
    expect(ajv.valid).toBe(false);
    if (!ajv.valid) expect(ajv.errors.map((e) => e.path)).toContain(field);
  });
});

describe('kubectl get as a dashboard', () => {
  const columns = (out: string) => (out.split('\n')[0] ?? '').trim().split(/\s+/);
  const row = (out: string, name: string) => out.split('\n').find((l) => l.startsWith(`${name} `) || l.includes(` ${name} `))?.trim().split(/\s+/);

  it('nodenatplans: node, backend, counts, ready, last sync, age; status written apart from spec', async () => {
    const status = loadExample('nodenatplan-node-a.yaml').status;
    const patched = await run(['patch', 'nodenatplan', 'node-a', '--subresource=status', '--type=merge', '-p', JSON.stringify({ status })]);
    expect(patched.code, patched.stderr).toBe(0);
    const out = (await run(['get', 'nodenatplans'])).stdout;
    expect(columns(out)).toEqual(['NAME', 'NODE', 'BACKEND', 'SERVICES', 'EXPOSURES', 'READY', 'LAST-SYNC', 'AGE']);
    expect(row(out, 'node-a')?.slice(0, 6)).toEqual(['node-a', 'node-a', 'nftables', '2', '1', 'True']);
    const wide = (await run(['get', 'nodenatplans', '-o', 'wide'])).stdout;
    expect(columns(wide)).toEqual(['NAME', 'NODE', 'BACKEND', 'SERVICES', 'EXPOSURES', 'READY', 'LAST-SYNC', 'AGE', 'ENDPOINTS', 'REASON']);
  });

  it('a spec write cannot change status, a status write cannot change spec', async () => {
    const before = JSON.parse((await run(['get', 'nodenatplan', 'node-a', '-o', 'json'])).stdout);
    const specWrite = await run(['patch', 'nodenatplan', 'node-a', '--type=merge', '-p', JSON.stringify({ spec: { zone: 'zone-9' }, status: { services: 99 } })]);
    expect(specWrite.code, specWrite.stderr).toBe(0);
    const statusWrite = await run(['patch', 'nodenatplan', 'node-a', '--subresource=status', '--type=merge', '-p', JSON.stringify({ spec: { zone: 'zone-7' }, status: { exposures: 5 } })]);
    expect(statusWrite.code, statusWrite.stderr).toBe(0);
    const after = JSON.parse((await run(['get', 'nodenatplan', 'node-a', '-o', 'json'])).stdout);
    expect(after.spec.zone).toBe('zone-9');
    expect(after.status.services).toBe(before.status.services);
    expect(after.status.exposures).toBe(5);
    expect(after.metadata.generation).toBe(before.metadata.generation + 1);
  });

  it('servicenatplans -A: service, part, cluster IP, endpoints; wide adds families and ports', async () => {
    const out = (await run(['get', 'servicenatplans', '-A'])).stdout;
    expect(columns(out)).toEqual(['NAMESPACE', 'NAME', 'SERVICE', 'PART', 'CLUSTER-IP', 'ENDPOINTS', 'AGE']);
    expect(row(out, 'web')?.slice(0, 6)).toEqual(['default', 'web', 'web', '0', '10.96.0.10', '2']);
    expect(row(out, 'web.1')?.slice(0, 4)).toEqual(['default', 'web.1', 'web', '1']);
    const wide = (await run(['get', 'servicenatplans', '-n', 'default', 'web', '-o', 'wide'])).stdout;
    expect(columns(wide)).toEqual(['NAME', 'SERVICE', 'PART', 'CLUSTER-IP', 'ENDPOINTS', 'AGE', 'IP-FAMILIES', 'PORTS', 'TRIGGERED']);
    expect(wide).toContain('["IPv4","IPv6"]');
    expect(wide).toContain('"nodePort":30080');
  });

  it('natexposurepolicies -A: service, ready, accepted, programmed, public endpoints', async () => {
    const status = {
      observedGeneration: 1,
      publicEndpointCount: 1,
      publicEndpoints: [{ node: 'node-a', service: 'web', address: '198.51.100.2', port: 8080, protocol: 'TCP', readyEndpoints: 2 }],
      conditions: ['Ready', 'Accepted', 'Programmed'].map((type) => ({ type, status: 'True', reason: 'Example', message: 'set by the test', lastTransitionTime: '2026-11-22T10:00:00Z' })),
    };
    const patched = await run(['patch', 'natexposurepolicy', 'web-public', '-n', 'default', '--subresource=status', '--type=merge', '-p', JSON.stringify({ status })]);
    expect(patched.code, patched.stderr).toBe(0);
    const out = (await run(['get', 'natexposurepolicies', '-A'])).stdout;
    expect(columns(out)).toEqual(['NAMESPACE', 'NAME', 'SERVICE', 'READY', 'ACCEPTED', 'PROGRAMMED', 'PUBLIC-ENDPOINTS', 'AGE']);
    expect(row(out, 'web-public')?.slice(0, 7)).toEqual(['default', 'web-public', 'web', 'True', 'True', 'True', '1']);
    // A policy by selector, not yet reconciled: its name-less service and unset conditions print blank.
    expect(row(out, 'games-udp')?.slice(0, 2)).toEqual(['games', 'games-udp']);
    expect(row(out, 'games-udp')).toHaveLength(3);
  });
});
