/**
 * `natplan cleanup-wait --namespace=NS --daemonset=NAME`: the uninstall hook Job. Polls the
 * cleanup DaemonSet until it ran on every node (see cleanup-done.ts) and exits 0; the
 * Job's activeDeadlineSeconds bounds the wait. Helm waits for this Job, so `helm
 * uninstall` returns only when every node is clean.
 */
import type { V1DaemonSet } from '@kubernetes/client-node';
import {
  answerCommandRequest, BUILD_INFO, call, flagErrorLine, flagReader, type FlagSpec, jsonLogger, kubeRequester, loadKubeConfig, parseFlags, USAGE_EXIT_CODE,
} from '@natplan/controller-kit';
import { cleanupDone } from './cleanup-done.js';

export const CLEANUP_WAIT_FLAGS: Record<string, FlagSpec> = {
  namespace: { type: 'string', help: 'namespace of the cleanup DaemonSet', env: 'POD_NAMESPACE' },
  daemonset: { type: 'string', help: 'name of the cleanup DaemonSet' },
  interval: { type: 'duration', help: 'time between two reads of its status', default: '2s' },
  kubeconfig: { type: 'string', help: 'kubeconfig file; empty = in-cluster', default: '' },
};

export async function main(argv: readonly string[]): Promise<void> {
  const command = { name: 'natplan cleanup-wait', summary: 'waits until the uninstall cleanup DaemonSet ran on every node', flags: CLEANUP_WAIT_FLAGS };
  if (answerCommandRequest(command, argv, BUILD_INFO.version)) return;
  const parsed = parseFlags(CLEANUP_WAIT_FLAGS, argv, process.env);
  const flags = parsed.ok ? flagReader(parsed.values) : undefined;
  if (!parsed.ok || !flags?.string('namespace') || !flags.string('daemonset')) {
    console.error(flagErrorLine(command.name, parsed.ok ? ['--namespace and --daemonset are required'] : parsed.errors));
    process.exitCode = USAGE_EXIT_CODE;
    return;
  }
  const logger = jsonLogger({ component: 'cleanup-wait', level: 'info' });
  const requester = kubeRequester(await loadKubeConfig(flags.string('kubeconfig')));
  const [namespace, name] = [flags.string('namespace'), flags.string('daemonset')];
  let last = '';
  for (;;) {
    const ds = await call<V1DaemonSet>(requester, { method: 'GET', path: `/apis/apps/v1/namespaces/${namespace}/daemonsets/${name}` }).catch((err: unknown) => {
      logger.warn('reading the cleanup DaemonSet failed; retrying', { err });
      return undefined;
    });
    if (ds) {
      const verdict = cleanupDone({ generation: ds.metadata?.generation, ...ds.status });
      if (verdict.done) {
        logger.info('every node is clean', { nodes: verdict.nodes });
        return;
      }
      if (verdict.reason !== last) logger.info('waiting for the cleanup', { progress: verdict.reason });
      last = verdict.reason;
    }
    await new Promise((resolve) => setTimeout(resolve, flags.number('interval')));
  }
}
