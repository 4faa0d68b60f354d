// What an agent holds in memory with N Services (issue 13's RSS budget), stage by stage:
// the ServiceNatPlans as its informer caches them, the desired state (validation verdicts
// and render input), the nftables element store after the first render, and after the
// commit. Each figure is the heap growth after a full GC, so it attributes the heap, not
// RSS (which adds the young generation, code and allocator slack; vs-kube-proxy measures
// the real agent's RSS). A script, not a test; it prints figures only:
//   npm run bench:agent-memory [-- --smoke | --full]
// Sizes: 1k and 10k (--full adds 30k; --smoke 50, to prove it still runs). Each size runs
// in a fresh process, so one size's garbage does not count in the next.
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { storeNftablesPort } from '@natplan/node-agent/applier';
import { desiredState, newLastGood } from '@natplan/node-agent';
import { NODE, nodePlan, cachedPlan } from './service-plans.js';

const MiB = 2 ** 20;
const gc = (globalThis as { gc?: () => void }).gc;

function measure(count: number): void {
  if (!gc) throw new Error('run with node --expose-gc (npm run bench:agent-memory)');
  const heap = (): number => { gc(); gc(); return process.memoryUsage().heapUsed; };
  const base = heap();
  const plans = Array.from({ length: count }, (_, i) => cachedPlan(i, i + 1));
  const afterPlans = heap();
  const state = desiredState(NODE, nodePlan, plans, newLastGood());
  if (!state.input || state.problems.length) throw new Error(`bench plans must be valid: ${state.problems[0] ?? 'no input'}`);
  const afterDesired = heap();
  const port = storeNftablesPort();
  const rendered = port.render(state.input);
  const afterStore = heap();
  const scriptChars = port.fullSyncScript(rendered)?.length ?? 0;
  port.committed?.(rendered);
  const afterCommit = heap();
  const mib = (bytes: number): string => `${(bytes / MiB).toFixed(1).padStart(6)} MiB`;
  const perService = (bytes: number): string => `${Math.round(bytes / count)} B/Service`;
  console.log(`${String(count).padStart(6)} Services: plans ${mib(afterPlans - base)} (${perService(afterPlans - base)}); ` +
    `desired state ${mib(afterDesired - afterPlans)}; element store ${mib(afterStore - afterDesired)} (${perService(afterStore - afterDesired)}); ` +
    `commit ${mib(afterCommit - afterStore)}; heap in all ${mib(afterCommit - base)}; full script ${(scriptChars / MiB).toFixed(1)} M chars; ` +
    `this process's RSS ${mib(process.memoryUsage().rss)} (tsx and its compiler included; the compiled agent's RSS: vs-kube-proxy)`);
  void [plans, state, rendered, port];
}

const size = process.argv.find((a) => a.startsWith('--size='));
if (size) {
  measure(Number(size.slice('--size='.length)));
} else {
  const sizes = process.argv.includes('--smoke') ? [50] : process.argv.includes('--full') ? [1000, 10_000, 30_000] : [1000, 10_000];
  console.log(`node ${process.version}; 10 endpoints per Service; heap growth after a full GC`);
  for (const count of sizes) {
    execFileSync(process.execPath, ['--expose-gc', '--import', 'tsx', fileURLToPath(import.meta.url), `--size=${count}`], { stdio: 'inherit' });
  }
}
