/**
 * What every controller binary's main does around its work: load the API client's
 * configuration (a file when given, else the in-cluster service account), and stop
 * cleanly on SIGTERM/SIGINT (kubelet sends SIGTERM before killing a pod).
 */
import { KubeConfig } from '@kubernetes/client-node';
import type { Logger } from './controller.js';

/** No API server to talk to: the process cannot start, and saying so in one line beats a retry loop. */
export class NoKubeConfigError extends Error {
  override readonly name = 'NoKubeConfigError';
}

/**
 * Without a path, the in-cluster service account; outside a pod that has no server
 * (client-node would build `https://undefined:undefined` and retry "Invalid URL" forever),
 * so it throws `NoKubeConfigError` instead.
 */
export function loadKubeConfig(path: string, env: NodeJS.ProcessEnv = process.env): KubeConfig {
  const kubeConfig = new KubeConfig();
  if (path) {
    kubeConfig.loadFromFile(path);
  } else if (env.KUBERNETES_SERVICE_HOST && env.KUBERNETES_SERVICE_PORT) {
    kubeConfig.loadFromCluster();
  } else {
    throw new NoKubeConfigError(
      'no Kubernetes API server: not in a pod (KUBERNETES_SERVICE_HOST/PORT unset) and no --kubeconfig given');
  }
  return kubeConfig;
}

/** Runs `stop` once on the first SIGTERM or SIGINT, then exits 0. */
export function stopOnSignals(stop: () => Promise<void>, logger: Logger, message = 'stopping'): void {
  const shutdown = async (signal: string) => {
    logger.info(message, { signal });
    await stop();
    process.exit(0);
  };
  process.once('SIGTERM', () => void shutdown('SIGTERM'));
  process.once('SIGINT', () => void shutdown('SIGINT'));
}
