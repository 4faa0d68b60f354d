/**
 * natplan operator: reads Services, EndpointSlices, Nodes and NatExposurePolicies and
 * writes ServiceNatPlans and NodeNatPlans. Flags: `--help`.
 */
import { hostname } from 'node:os';
import {
  answerCommandRequest, BUILD_INFO, flagErrorLine, holdOpenUntil, jsonLogger, loadKubeConfig, stopOnSignals, USAGE_EXIT_CODE, waitForApiServer,
} from '@natplan/controller-kit';
import { OPERATOR_FLAGS, parseOperatorConfig } from './config.js';
import { startOperator } from './shell/operator.js';

export async function main(argv: readonly string[]): Promise<void> {
  const command = { name: 'natplan operator', summary: 'plans Service NAT for every node (ServiceNatPlans, NodeNatPlans)', flags: OPERATOR_FLAGS };
  if (answerCommandRequest(command, argv, BUILD_INFO.version)) return;
  const parsed = parseOperatorConfig(argv, process.env, hostname());
  if (!parsed.ok) {
    console.error(flagErrorLine(command.name, parsed.errors));
    process.exitCode = USAGE_EXIT_CODE;
    return;
  }
  const { config } = parsed;
  const logger = jsonLogger({ component: 'operator', level: config.logLevel });
  const kubeConfig = await loadKubeConfig(config.kubeconfig);
  // A lost lease ends the term (controllers, caches, writes) and the process stays a
  // candidate: a new term starts cleanly, without a pod restart and its crash-loop backoff.
  await waitForApiServer(kubeConfig, { timeoutMs: config.startupTimeoutMs, logger });
  const operator = await holdOpenUntil(startOperator({ kubeConfig, config, logger }));
  logger.info('started', { metrics: operator.http.url, mode: config.planner.mode, leaderElection: config.leaderElection.enabled });
  stopOnSignals(() => operator.stop(), logger);
}

if (import.meta.url === `file://${process.argv[1]}`) await main(process.argv.slice(2));
