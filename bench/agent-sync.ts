// The agent's cost for one endpoint change with N Services present (issue 13): the pure
// part of a sync as the agent runs it (node-agent/src/shell/desired-state.ts: plan
// validation + render input; then the nftables applier's port: the element store
// re-renders the changed Service, diffs it and writes the script), without a kernel.
// A script, not a test; it prints figures only:
//   npx tsx bench/agent-sync.ts [--smoke] [--full]
// Sizes: 1k and 10k (--full adds 30k; --smoke 50 and 200, to prove it still runs).
// Each size is timed twice: "every plan" validates all plans on every sync (what the agent
// did before the per-resourceVersion cache: a fresh cache per sync), "cached" keeps the
// cache as the agent does, so only the changed plan is validated.
// The plans: bench/service-plans.ts.
import { performance } from 'node:perf_hooks';
import { storeNftablesPort, type StoreRender } from '@natplan/node-agent/applier';
import { desiredState, newLastGood, type LastGood } from '@natplan/node-agent';
import { NODE, PER_SERVICE, nodePlan, plan } from './service-plans.js';

const smoke = process.argv.includes('--smoke');
const sizes = smoke ? [50, 200] : process.argv.includes('--full') ? [1000, 10_000, 30_000] : [1000, 10_000];
const CHANGES = smoke ? 3 : 10;
interface Figures { ms: number; desiredMs: number; storeMs: number; hits: number; misses: number; scriptBytes: number }

/** Median time of one endpoint change (desired state + render + diff) with `count` plans present. */
function perChange(count: number, cached: boolean): Figures {
  const plans = Array.from({ length: count }, (_, i) => plan(i, i + 1));
  let lastGood: LastGood = newLastGood();
  const port = storeNftablesPort();
  let desiredMs = 0;
  let storeMs = 0;
  let scriptBytes = 0;
  const sync = (previous: StoreRender | undefined) => {
    const start = performance.now();
    if (!cached) lastGood = { ...newLastGood(), validations: lastGood.validations }; // forgets the verdicts, keeps the counts
    const state = desiredState(NODE, nodePlan, plans, lastGood);
    desiredMs = performance.now() - start;
    if (!state.input || state.problems.length) throw new Error(`bench plans must be valid: ${state.problems[0] ?? 'no input'}`);
    const storeStart = performance.now();
    const rendered = port.render(state.input);
    // What the applier sends: the full script at start-up, the store's delta afterwards.
    const script = previous && !port.needsFullSync?.(rendered) ? port.incrementalScript(previous, rendered) : port.fullSyncScript(rendered);
    if (previous && !script?.includes('add element')) throw new Error('bench: an endpoint change must add elements');
    storeMs = performance.now() - storeStart;
    scriptBytes = script?.length ?? 0;
    port.committed?.(rendered);
    return rendered;
  };
  let ruleset = sync(undefined); // start-up: every plan validated and rendered once
  const before = { ...lastGood.validations };
  const times: number[] = [];
  const desired: number[] = [];
  const stored: number[] = [];
  for (let c = 1; c <= CHANGES; c++) {
    const i = (c * 7919) % count; // one Service gets new endpoints (a new resourceVersion)
    plans[i] = plan(i, count + c, count + c);
    const start = performance.now();
    ruleset = sync(ruleset);
    times.push(performance.now() - start);
    desired.push(desiredMs);
    stored.push(storeMs);
  }
  const median = (xs: number[]) => xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? 0;
  return { ms: median(times), desiredMs: median(desired), storeMs: median(stored), scriptBytes, hits: lastGood.validations.hits - before.hits, misses: lastGood.validations.misses - before.misses };
}

const fmt = (ms: number): string => `${ms.toFixed(1).padStart(7)} ms`;
console.log(`node ${process.version}; ${PER_SERVICE} endpoints per Service; median of ${CHANGES} one-endpoint changes`);
perChange(200, true); // warm-up for the JIT
for (const cached of [false, true]) {
  const label = cached ? 'cached (once per resourceVersion)' : 'every plan on every sync (before)';
  const results = new Map<number, Figures>();
  for (const count of sizes) {
    const f = perChange(count, cached);
    results.set(count, f);
    console.log(`${label}: ${String(count).padStart(6)} Services: ${fmt(f.ms)} per change (desired state and validation ${fmt(f.desiredMs)}; render, store diff and script ${fmt(f.storeMs)}, ${f.scriptBytes} bytes); validation cache: hits/misses ${f.hits}/${f.misses}`);
  }
  const [small, large] = [results.get(sizes[0]!), results.get(sizes[1]!)];
  if (small && large) console.log(`${label}: ratio ${sizes[1]}/${sizes[0]} = ${(large.ms / small.ms).toFixed(1)}`);
}
