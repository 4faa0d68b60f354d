/**
 * natplan operator: reads Services, EndpointSlices, Nodes and NatExposurePolicies and
 * writes ServiceNatPlans and NodeNatPlans. Flags: `--help`.
 */
import { hostname } from 'node:os';
import { flagUsage } from '../../controller-kit/src/flags.js';
import { jsonLogger } from '../../controller-kit/src/json-logger.js';
import { loadKubeConfig, stopOnSignals } from '../../controller-kit/src/process.js';
import { OPERATOR_FLAGS, parseOperatorConfig } from './config.js';
import { startOperator } from './shell/operator.js';

export async function main(argv: readonly string[]): Promise<void> {
  if (argv.includes('--help')) {
    console.log(`natplan operator\n\n${flagUsage(OPERATOR_FLAGS)}`);
    return;
  }
  const parsed = parseOperatorConfig(argv, process.env, hostname());
  if (!parsed.ok) {
    console.error(`natplan operator: invalid configuration:\n  ${parsed.errors.join('\n  ')}`);
    process.exitCode = 2;
    return;
  }
  const { config } = parsed;
  const logger = jsonLogger({ component: 'operator', level: config.logLevel });
  const kubeConfig = loadKubeConfig(config.kubeconfig);
  // A lost lease ends the term (controllers, caches, writes) and the process stays a
  // candidate: a new term starts cleanly, without a pod restart and its crash-loop backoff.
  const operator = await startOperator({ kubeConfig, config, logger });
  logger.info('started', { metrics: operator.http.url, mode: config.planner.mode, leaderElection: config.leaderElection.enabled });
  stopOnSignals(() => operator.stop(), logger);
}

if (import.meta.url === `file://${process.argv[1]}`) await main(process.argv.slice(2));
