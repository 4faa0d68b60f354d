/**
 * What every controller binary's main does around its work: load the API client's
 * configuration (a file when given, else the in-cluster service account), and stop
 * cleanly on SIGTERM/SIGINT (kubelet sends SIGTERM before killing a pod).
 */
import { existsSync, readFileSync } from 'node:fs';
import type { Logger } from './controller.js';
import { inClusterSource, PlainClusterAccess, readKubeconfig, type ClusterAccess } from './kube/cluster-access.js';
import { kubeRequester } from './kube/kube-requester.js';

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
 * so it throws `NoKubeConfigError` instead. A kubeconfig that needs more than certificates
 * and tokens (exec or auth-provider plugins, basic auth, a proxy) is read by client-node's
 * KubeConfig, loaded only then (kube/cluster-access.ts says why).
 */
export async function loadKubeConfig(path: string, env: NodeJS.ProcessEnv = process.env): Promise<ClusterAccess> {
  if (!path) {
    if (env.KUBERNETES_SERVICE_HOST && env.KUBERNETES_SERVICE_PORT) {
      return new PlainClusterAccess(inClusterSource(env.KUBERNETES_SERVICE_HOST, env.KUBERNETES_SERVICE_PORT));
    }
    throw new NoKubeConfigError(
      'no Kubernetes API server: not in a pod (KUBERNETES_SERVICE_HOST/PORT unset) and no --kubeconfig given');
  }
  if (!existsSync(path)) throw new NoKubeConfigError(`kubeconfig ${path} does not exist`);
  const unreadable = (err: unknown) => new NoKubeConfigError(`kubeconfig ${path} cannot be read: ${err instanceof Error ? err.message : String(err)}`);
  let reading;
  try {
    reading = readKubeconfig(readFileSync(path, 'utf8'), path);
  } catch (err) {
    throw unreadable(err);
  }
  if (reading.ok) return new PlainClusterAccess(reading.source);
  const { KubeConfig } = await import('@kubernetes/client-node');
  const kubeConfig = new KubeConfig();
  try {
    kubeConfig.loadFromFile(path);
  } catch (err) {
    throw unreadable(err);
  }
  if (!kubeConfig.getCurrentCluster()) throw unreadable(new Error(reading.reason));
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
export async function waitForApiServer(kubeConfig: ClusterAccess, options: WaitForApiServerOptions): Promise<void> {
  const requester = kubeRequester(kubeConfig, { timeoutMs: 10_000, deadlineMs: 10_000 });
  const server = kubeConfig.getCurrentCluster()?.server ?? '(no server)';
  const deadline = Date.now() + options.timeoutMs;
  let delay = options.initialDelayMs ?? 500;
  for (let attempt = 1; ; attempt++) {
    // Any HTTP answer resolves the request (a refusal is a response too); only a failure
    // to get one (refused, reset, timed out, TLS) rejects.
    const failure = await requester({ method: 'GET', path: '/version' }).then(() => undefined, (err: unknown) => oneLine(err));
    if (failure === undefined) return;
    const left = deadline - Date.now();
    if (left <= 0) throw new ApiServerUnreachableError(`cannot reach the API server ${server} (gave up after ${attempt} attempts in ${Math.round(options.timeoutMs / 1000)}s): ${failure}`);
    const wait = Math.min(delay, left);
    options.logger.error('API server not reachable; retrying', { server, attempt, retryInMs: wait, err: failure });
    await new Promise((resolve) => setTimeout(resolve, wait));
    delay = Math.min(delay * 2, options.maxDelayMs ?? 8000);
  }
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
