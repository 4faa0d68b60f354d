/**
 * Clients for admission tests: tokens the API server issues to a ServiceAccount
 * (TokenRequest), a client that authenticates with nothing but such a token (as a pod
 * would), and the raw calls the tests make.
 */
import { KubeConfig } from '@kubernetes/client-node';
import { expect } from 'vitest';
import { ApiError, call, kubeClient, type KubeClient } from '@natplan/controller-kit';
import type { ControlPlane } from '../control-plane/index.js';

/** A TokenRequest for `namespace/serviceAccount` (the API server's default audience); `spec` may bind it to a pod. */
export async function serviceAccountToken(admin: KubeClient, namespace: string, serviceAccount: string, spec: Record<string, unknown> = {}): Promise<string> {
  const r = await post<{ status: { token: string } }>(admin, `/api/v1/namespaces/${namespace}/serviceaccounts/${serviceAccount}/token`, {
    apiVersion: 'authentication.k8s.io/v1', kind: 'TokenRequest', spec: { expirationSeconds: 600, ...spec },
  });
  return r.status.token;
}

/** A client that authenticates with nothing but the bearer token. */
export function bearerClient(cp: ControlPlane, bearer: string): KubeClient {
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [{ name: 'test', server: cp.server, caFile: cp.certificates.caCert, skipTLSVerify: false }],
    users: [{ name: 'bearer', token: bearer }],
    contexts: [{ name: 'bearer', cluster: 'test', user: 'bearer' }],
    currentContext: 'bearer',
  });
  return kubeClient(kc);
}

export function post<T = unknown>(client: KubeClient, path: string, body: unknown): Promise<T> {
  return call<T>(client.requester, { method: 'POST', path, body: JSON.stringify(body), contentType: 'application/json' });
}

export function get<T>(client: KubeClient, path: string): Promise<T> {
  return call<T>(client.requester, { method: 'GET', path });
}

/** The error of a request the API server must refuse with 403 Forbidden. */
export async function refusal(request: Promise<unknown>): Promise<ApiError> {
  const err = await request.then(() => undefined, (e: unknown) => e);
  if (!(err instanceof ApiError)) throw new Error(`expected a refusal, got ${err === undefined ? 'success' : String(err)}`);
  expect(err.statusCode).toBe(403);
  return err;
}
