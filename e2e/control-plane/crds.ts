/**
 * Installs natplan's CRDs (crds/*.yaml, the source of truth) with server-side apply and
 * waits until each is Established and its resource answers a list: only then can tests
 * create objects without racing the API server's discovery.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ApiextensionsV1Api, CustomObjectsApi, KubernetesObjectApi, PatchStrategy, type KubeConfig, type KubernetesObject, type V1CustomResourceDefinition } from '@kubernetes/client-node';
import { parse } from 'yaml';
import { waitFor } from './wait.js';

export const crdsDir = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'crds');

export function loadCrds(): V1CustomResourceDefinition[] {
  return readdirSync(crdsDir).filter((f) => f.endsWith('.yaml')).sort()
    .map((f) => parse(readFileSync(join(crdsDir, f), 'utf8')) as V1CustomResourceDefinition);
}

export async function installCrds(kc: KubeConfig, timeoutMs = 60_000): Promise<void> {
  const objects = KubernetesObjectApi.makeApiClient(kc);
  const ext = kc.makeApiClient(ApiextensionsV1Api);
  const custom = kc.makeApiClient(CustomObjectsApi);
  const crds = loadCrds();
  for (const crd of crds) {
    await objects.patch(crd as KubernetesObject, undefined, undefined, 'natplan-test', true, PatchStrategy.ServerSideApply);
  }
  for (const crd of crds) {
    const name = crd.metadata?.name ?? '';
    await waitFor(`CRD ${name} Established`, async () => {
      const live = await ext.readCustomResourceDefinition({ name });
      return live.status?.conditions?.some((c) => c.type === 'Established' && c.status === 'True') ? true : undefined;
    }, timeoutMs);
    const version = crd.spec.versions[0]?.name ?? 'v1alpha1';
    await waitFor(`${crd.spec.names.plural} served`, async () => {
      await custom.listClusterCustomObject({ group: crd.spec.group, version, plural: crd.spec.names.plural });
      return true;
    }, timeoutMs);
  }
}
