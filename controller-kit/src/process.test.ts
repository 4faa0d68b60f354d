import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadKubeConfig, NoKubeConfigError } from './process.js';

// Addresses: 192.0.2.0/24 (TEST-NET-1, documentation only).
describe('loadKubeConfig', () => {
  const dir = mkdtempSync(join(tmpdir(), 'natplan-kubeconfig-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('refuses with NoKubeConfigError outside a pod without a file', () => {
    expect(() => loadKubeConfig('', {})).toThrow(NoKubeConfigError);
    expect(() => loadKubeConfig('', { KUBERNETES_SERVICE_HOST: '192.0.2.1' })).toThrow(/KUBERNETES_SERVICE_HOST/);
  });

  it('refuses with one line when the file given does not exist or is not a kubeconfig', () => {
    expect(() => loadKubeConfig(join(dir, 'absent'), {})).toThrow(new NoKubeConfigError(`kubeconfig ${join(dir, 'absent')} does not exist`));
    const garbage = join(dir, 'garbage');
    writeFileSync(garbage, '{{{ not yaml');
    expect(() => loadKubeConfig(garbage, {})).toThrow(NoKubeConfigError);
  });

  it('uses the in-cluster address when the pod environment names one', () => {
    const env = { KUBERNETES_SERVICE_HOST: '192.0.2.1', KUBERNETES_SERVICE_PORT: '443' };
    // client-node reads the address from process.env itself.
    const saved = { host: process.env.KUBERNETES_SERVICE_HOST, port: process.env.KUBERNETES_SERVICE_PORT };
    Object.assign(process.env, env);
    try {
      expect(loadKubeConfig('', env).getCurrentCluster()?.server).toBe('https://192.0.2.1:443');
    } finally {
      for (const [name, value] of [['KUBERNETES_SERVICE_HOST', saved.host], ['KUBERNETES_SERVICE_PORT', saved.port]] as const) {
        if (value === undefined) delete process.env[name];
        else process.env[name] = value;
      }
    }
  });

  it('reads the file when one is given, whatever the environment', () => {
    const path = join(dir, 'kubeconfig');
    writeFileSync(path, [
      'apiVersion: v1', 'kind: Config', 'current-context: c',
      'clusters: [{name: k, cluster: {server: "https://192.0.2.2:6443"}}]',
      'users: [{name: u, user: {token: t}}]',
      'contexts: [{name: c, context: {cluster: k, user: u}}]',
    ].join('\n'));
    expect(loadKubeConfig(path, {}).getCurrentCluster()?.server).toBe('https://192.0.2.2:6443');
  });
});
