/**
 * natplan node agent: enforces its node's NodeNatPlan and all ServiceNatPlans as
 * nftables rules (iptables where nftables is missing) and reports in the plan's status.
 * `--cleanup` removes everything the agent ever installed and exits. Flags: `--help`.
 */
import { flagUsage } from '../../controller-kit/src/flags.js';
import { jsonLogger } from '../../controller-kit/src/json-logger.js';
import { loadKubeConfig, stopOnSignals } from '../../controller-kit/src/process.js';
import { removeEverything } from './applier/index.js';
import { AGENT_FLAGS, parseAgentConfig } from './config.js';
import { createExec } from './exec/index.js';
import { startAgent } from './shell/agent.js';

export async function main(argv: readonly string[]): Promise<void> {
  if (argv.includes('--help')) {
    console.log(`natplan node agent\n\n${flagUsage(AGENT_FLAGS)}`);
    return;
  }
  const parsed = parseAgentConfig(argv, process.env);
  if (!parsed.ok) {
    console.error(`natplan agent: invalid configuration:\n  ${parsed.errors.join('\n  ')}`);
    process.exitCode = 2;
    return;
  }
  const { config } = parsed;
  const logger = jsonLogger({ component: 'agent', level: config.logLevel }).with({ node: config.nodeName });
  if (config.cleanup) {
    const report = await removeEverything(createExec(config.netns ? { netns: config.netns } : 'host'));
    logger.info('removed natplan rules', { cleaned: report.cleaned, skipped: report.skipped });
    for (const err of report.errors) logger.error('cleanup failed', { err });
    process.exitCode = report.errors.length > 0 ? 1 : 0;
    return;
  }
  const kubeConfig = loadKubeConfig(config.kubeconfig);
  const agent = await startAgent({ kubeConfig, config, logger });
  logger.info('started', { metrics: agent.http.url, netns: config.netns });
  stopOnSignals(() => agent.stop(), logger, 'stopping; rules stay in place');
}

if (import.meta.url === `file://${process.argv[1]}`) await main(process.argv.slice(2));
