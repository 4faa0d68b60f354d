/**
 * natplan node agent: enforces its node's NodeNatPlan and all ServiceNatPlans as
 * nftables rules (iptables where nftables is missing) and reports in the plan's status.
 * `--cleanup` removes everything the agent ever installed and exits. Flags: `--help`.
 */
import { KubeConfig } from '@kubernetes/client-node';
import { flagUsage } from '../../controller-kit/src/flags.js';
import { jsonLogger } from '../../controller-kit/src/json-logger.js';
import { createApplier } from './applier/index.js';
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
    const exec = createExec(config.netns ? { netns: config.netns } : 'host');
    let failed = false;
    for (const backend of ['nftables', 'iptables'] as const) {
      try {
        await createApplier(backend, exec).cleanup();
        logger.info('removed natplan rules', { backend });
      } catch (err) {
        // A missing tool means that backend never installed anything here.
        logger.warn('cleanup skipped', { backend, err });
        failed ||= !(err instanceof Error && /missingBinary|not found|ENOENT/.test(`${(err as { kind?: string }).kind ?? ''} ${err.message}`));
      }
    }
    process.exitCode = failed ? 1 : 0;
    return;
  }
  const kubeConfig = new KubeConfig();
  if (config.kubeconfig) kubeConfig.loadFromFile(config.kubeconfig);
  else kubeConfig.loadFromCluster();
  const agent = await startAgent({ kubeConfig, config, logger });
  logger.info('started', { metrics: agent.http.url, netns: config.netns });
  const shutdown = async (signal: string) => {
    logger.info('stopping; rules stay in place', { signal });
    await agent.stop();
    process.exit(0);
  };
  process.once('SIGTERM', () => void shutdown('SIGTERM'));
  process.once('SIGINT', () => void shutdown('SIGINT'));
}

if (import.meta.url === `file://${process.argv[1]}`) await main(process.argv.slice(2));
