/**
 * What every controller binary's main does around its work: load the API client's
 * configuration (a file when given, else the in-cluster service account), and stop
 * cleanly on SIGTERM/SIGINT (kubelet sends SIGTERM before killing a pod).
 */
import { existsSync } from 'node:fs';
import { KubeConfig, VersionApi } from '@kubernetes/client-node';
import type { Logger } from './controller.js';

/** The process cannot start; main prints the message as one line and exits non-zero. */
export class StartupError extends Error {
  override readonly name: string = 'StartupError';
}

/** No API server to talk to: saying so in one line beats a retry loop. */
export class NoKubeConfigError extends StartupError {
  override readonly name = 'NoKubeConfigError';
}

/** The API server did not answer within the startup timeout. */
export class ApiServerUnreachableError extends StartupError {
  override readonly name = 'ApiServerUnreachableError';
}

/**
 * Without a path, the in-cluster service account; outside a pod that has no server
 * (client-node would build `https://undefined:undefined` and retry "Invalid URL" forever),
 * so it throws `NoKubeConfigError` instead.
 */
export function loadKubeConfig(path: string, env: NodeJS.ProcessEnv = process.env): KubeConfig {
  const kubeConfig = new KubeConfig();
  if (path) {
    if (!existsSync(path)) throw new NoKubeConfigError(`kubeconfig ${path} does not exist`);
    try {
      kubeConfig.loadFromFile(path);
    } catch (err) {
      throw new NoKubeConfigError(`kubeconfig ${path} cannot be read: ${err instanceof Error ? err.message : String(err)}`);
    }
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

export interface WaitForApiServerOptions {
  /** Give up after this long (controller-runtime's CacheSyncTimeout is 2m). */
  timeoutMs: number;
  logger: Logger;
  /** First delay between attempts; doubles up to `maxDelayMs`. */
  initialDelayMs?: number;
  maxDelayMs?: number;
}

/**
 * Waits until the API server answers `GET /version` (any HTTP answer counts: the server is
 * there, and what it refuses shows up later as typed errors), retrying with exponential
 * backoff and one log line per failed attempt. After `timeoutMs` it throws
 * `ApiServerUnreachableError`, like a controller-runtime manager whose caches do not sync
 * in time: the process exits non-zero, the pod shows the failure, and the kubelet's
 * restart backoff takes over — better than a pod that looks Running while it does nothing.
 * The timers are ref'd on purpose: a startup wait must keep Node alive.
 */
export async function waitForApiServer(kubeConfig: KubeConfig, options: WaitForApiServerOptions): Promise<void> {
  const api = kubeConfig.makeApiClient(VersionApi);
  const server = kubeConfig.getCurrentCluster()?.server ?? '(no server)';
  const deadline = Date.now() + options.timeoutMs;
  let delay = options.initialDelayMs ?? 500;
  for (let attempt = 1; ; attempt++) {
    const failure = await api.getCode().then(() => undefined, (err: unknown) => (isHttpAnswer(err) ? undefined : oneLine(err)));
    if (failure === undefined) return;
    const left = deadline - Date.now();
    if (left <= 0) throw new ApiServerUnreachableError(`cannot reach the API server ${server} (gave up after ${attempt} attempts in ${Math.round(options.timeoutMs / 1000)}s): ${failure}`);
    const wait = Math.min(delay, left);
    options.logger.error('API server not reachable; retrying', { server, attempt, retryInMs: wait, err: failure });
    await new Promise((resolve) => setTimeout(resolve, wait));
    delay = Math.min(delay * 2, options.maxDelayMs ?? 8000);
  }
}

/** client-node raises ApiException (with an HTTP status `code`) when the server answered. */
function isHttpAnswer(err: unknown): boolean {
  return typeof (err as { code?: unknown } | null)?.code === 'number';
}

function oneLine(err: unknown): string {
  return (err instanceof Error ? err.message : String(err)).split('\n')[0]!;
}

/**
 * Keeps the process alive until `work` settles. The controller-kit clock unrefs its timers,
 * so an informer waiting to retry a list holds nothing open; without this, a start that
 * awaits a first sync ended with exit code 13 ("unsettled top-level await").
 */
export async function holdOpenUntil<T>(work: Promise<T>): Promise<T> {
  const hold = setInterval(() => undefined, 1 << 30);
  try {
    return await work;
  } finally {
    clearInterval(hold);
  }
}
