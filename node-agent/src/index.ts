/**
 * @natplan/node-agent: the enforcement half of natplan. `main` is `natplan agent` (and,
 * with --cleanup, `natplan cleanup`); `cleanupWaitMain` is `natplan cleanup-wait`;
 * `startAgent` runs one agent in process (tests, benchmarks). The renderer, the appliers
 * and the exec boundary are their own exports (`./render`, `./applier`, `./exec`).
 */
export { main, AGENT_COMMAND } from './main.js';
export { main as cleanupWaitMain, CLEANUP_WAIT_FLAGS } from './uninstall/wait.js';
export { AGENT_FLAGS, parseAgentConfig, type AgentConfig } from './config.js';
export { startAgent, AGENT_FIELD_MANAGER, type AgentOptions, type RunningAgent } from './shell/agent.js';
export { desiredState, newLastGood, type DesiredState, type LastGood } from './shell/desired-state.js';
export { agentMetrics, type AgentMetrics } from './shell/metrics.js';
