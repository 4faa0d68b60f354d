/**
 * natplan node agent: enforces its node's NodeNatPlan and all ServiceNatPlans as
 * nftables rules (iptables where nftables is missing) and reports in the plan's status.
 * `--cleanup` removes everything the agent ever installed and exits. Flags: `--help`.
 */
import {
  answerCommandRequest, BUILD_INFO, flagErrorLine, holdOpenUntil, jsonLogger, loadKubeConfig, stopOnSignals, USAGE_EXIT_CODE, waitForApiServer,
} from '@natplan/controller-kit';
import { removeEverything } from './applier/index.js';
import { AGENT_FLAGS, parseAgentConfig } from './config.js';
import { createExec } from './exec/index.js';
import { releaseHeldMappings } from './gateway/held-file.js';
import { startAgent } from './shell/agent.js';

export const AGENT_COMMAND = { name: 'natplan agent', summary: 'enforces this node\'s NAT plans as nftables (or iptables) rules', flags: AGENT_FLAGS };

/** `natplan cleanup` is the agent with --cleanup; its help and errors carry its own name. */
export async function main(argv: readonly string[], command: { name: string; summary: string } = AGENT_COMMAND): Promise<void> {
  if (answerCommandRequest({ ...command, flags: AGENT_FLAGS }, argv, BUILD_INFO.version)) return;
  const parsed = parseAgentConfig(argv, process.env);
  if (!parsed.ok) {
    console.error(flagErrorLine(command.name, parsed.errors));
    process.exitCode = USAGE_EXIT_CODE;
    return;
  }
  const { config } = parsed;
  const logger = jsonLogger({ component: 'agent', level: config.logLevel }).with({ node: config.nodeName });
  if (config.cleanup) {
    const target = config.netns ? { netns: config.netns } : 'host' as const;
    const report = await removeEverything(createExec(target));
    logger.info('removed natplan rules', { cleaned: report.cleaned, skipped: report.skipped });
    for (const err of report.errors) logger.error('cleanup failed', { err });
    // The gateway's port mappings go too; one that cannot be deleted expires with its lease.
    const gateway = config.gatewayStateFile ? await releaseHeldMappings(target, config.gatewayStateFile).catch((err: unknown) => ({ released: 0, errors: [err] })) : { released: 0, errors: [] };
    if (gateway.released > 0) logger.info('deleted gateway port mappings', { released: gateway.released });
    for (const err of gateway.errors) logger.warn('gateway port mapping not deleted; it expires with its lease', { err });
    process.exitCode = report.errors.length > 0 ? 1 : 0;
    return;
  }
  const kubeConfig = await loadKubeConfig(config.kubeconfig);
  await waitForApiServer(kubeConfig, { timeoutMs: config.startupTimeoutMs, logger });
  const agent = await holdOpenUntil(startAgent({ kubeConfig, config, logger }));
  logger.info('started', { metrics: agent.http.url, netns: config.netns });
  stopOnSignals(() => agent.stop(), logger, 'stopping; rules stay in place');
}

if (import.meta.url === `file://${process.argv[1]}`) await main(process.argv.slice(2));
