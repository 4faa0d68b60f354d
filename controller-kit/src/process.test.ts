import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type * as https from 'node:https';
import { afterAll, describe, expect, it } from 'vitest';
import { PlainClusterAccess } from './kube/cluster-access.js';
import { loadKubeConfig, NoKubeConfigError } from './process.js';

// Addresses: 192.0.2.0/24 (TEST-NET-1, documentation only).
describe('loadKubeConfig', () => {
  const dir = mkdtempSync(join(tmpdir(), 'natplan-kubeconfig-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const kubeconfig = (name: string, user: string, cluster = 'server: "https://192.0.2.2:6443"') => {
    const path = join(dir, name);
    writeFileSync(path, [
      'apiVersion: v1', 'kind: Config', 'current-context: c',
      `clusters: [{name: k, cluster: {${cluster}}}]`,
      `users: [{name: u, user: {${user}}}]`,
      'contexts: [{name: c, context: {cluster: k, user: u}}]',
    ].join('\n'));
    return path;
  };

  it('refuses with NoKubeConfigError outside a pod without a file', async () => {
    await expect(loadKubeConfig('', {})).rejects.toThrow(NoKubeConfigError);
    await expect(loadKubeConfig('', { KUBERNETES_SERVICE_HOST: '192.0.2.1' })).rejects.toThrow(/KUBERNETES_SERVICE_HOST/);
  });

  it('refuses with one line when the file given does not exist or is not a kubeconfig', async () => {
    await expect(loadKubeConfig(join(dir, 'absent'), {})).rejects.toThrow(new NoKubeConfigError(`kubeconfig ${join(dir, 'absent')} does not exist`));
    const garbage = join(dir, 'garbage');
    writeFileSync(garbage, '{{{ not yaml');
    await expect(loadKubeConfig(garbage, {})).rejects.toThrow(NoKubeConfigError);
    const noContext = join(dir, 'no-context');
    writeFileSync(noContext, 'apiVersion: v1\nkind: Config\n');
    await expect(loadKubeConfig(noContext, {})).rejects.toThrow(NoKubeConfigError);
  });

  it('uses the in-cluster service account when the pod environment names a server', async () => {
    const access = await loadKubeConfig('', { KUBERNETES_SERVICE_HOST: '192.0.2.1', KUBERNETES_SERVICE_PORT: '443' });
    expect(access).toBeInstanceOf(PlainClusterAccess);
    expect(access.getCurrentCluster()?.server).toBe('https://192.0.2.1:443');
    const ipv6 = await loadKubeConfig('', { KUBERNETES_SERVICE_HOST: '2001:db8::1', KUBERNETES_SERVICE_PORT: '6443' });
    expect(ipv6.getCurrentCluster()?.server).toBe('https://[2001:db8::1]:6443');
  });

  it('reads a certificate-and-token kubeconfig itself, whatever the environment', async () => {
    const access = await loadKubeConfig(kubeconfig('token', 'token: t'), { KUBERNETES_SERVICE_HOST: '192.0.2.1', KUBERNETES_SERVICE_PORT: '443' });
    expect(access).toBeInstanceOf(PlainClusterAccess);
    expect(access.getCurrentCluster()?.server).toBe('https://192.0.2.2:6443');
  });

  it('hands a kubeconfig with an exec plugin to client-node', async () => {
    const access = await loadKubeConfig(kubeconfig('exec', 'exec: {apiVersion: client.authentication.k8s.io/v1, command: /bin/true}'), {});
    expect(access).not.toBeInstanceOf(PlainClusterAccess);
    expect(access.getCurrentCluster()?.server).toBe('https://192.0.2.2:6443');
  });

  it('applies the CA, client certificate, key and token to a request; the token file is read on every request', async () => {
    const tokenFile = join(dir, 'token');
    writeFileSync(tokenFile, 'first\n');
    const path = kubeconfig('files',
      `client-certificate-data: ${Buffer.from('CERT').toString('base64')}, client-key: key.pem, tokenFile: ${tokenFile}`,
      `server: "https://192.0.2.2:6443", certificate-authority-data: ${Buffer.from('CA').toString('base64')}, tls-server-name: api.example`);
    writeFileSync(join(dir, 'key.pem'), 'KEY');
    const access = await loadKubeConfig(path, {});
    const opts: https.RequestOptions = {};
    await access.applyToHTTPSOptions(opts);
    expect(opts).toMatchObject({ ca: 'CA', cert: 'CERT', key: 'KEY', servername: 'api.example', headers: { Authorization: 'Bearer first' } });
    expect(opts.rejectUnauthorized).toBeUndefined();
    writeFileSync(tokenFile, 'rotated\n');
    const again: https.RequestOptions = {};
    await access.applyToHTTPSOptions(again);
    expect(again.headers).toMatchObject({ Authorization: 'Bearer rotated' });
  });

  it('skips TLS verification only when the kubeconfig says insecure-skip-tls-verify', async () => {
    const access = await loadKubeConfig(kubeconfig('insecure', 'token: t', 'server: "https://192.0.2.2:6443", insecure-skip-tls-verify: true'), {});
    const opts: https.RequestOptions = {};
    await access.applyToHTTPSOptions(opts);
    expect(opts.rejectUnauthorized).toBe(false);
  });
});
