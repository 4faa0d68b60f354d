/**
 * What every controller binary's main does around its work: load the API client's
 * configuration (a file when given, else the in-cluster service account), and stop
 * cleanly on SIGTERM/SIGINT (kubelet sends SIGTERM before killing a pod).
 */
import { KubeConfig } from '@kubernetes/client-node';
import type { Logger } from './controller.js';

export function loadKubeConfig(path: string): KubeConfig {
  const kubeConfig = new KubeConfig();
  if (path) kubeConfig.loadFromFile(path);
  else kubeConfig.loadFromCluster();
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
