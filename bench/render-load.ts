// nftables load benchmark (DESIGN.md §7): render time, script size and `nft -f` cold-load
// time of the full ruleset at 1k and 10k Services x 10 endpoints, and one Service change
// (incremental sync) with 10k present. A script, not a test; it prints figures only:
//   npx tsx bench/render-load.ts [sizes, e.g. 1000,10000] [endpointsPerService] [--smoke]
// nft runs only inside a private network namespace created here (`ip netns add`), which
// is deleted at the end. Needs root (or CAP_SYS_ADMIN + CAP_NET_ADMIN) and nft.
// Addresses follow the project's test ranges (cluster IPs 10.96.0.0/16, pods
// 10.244.0.0/16 with this node's pods in 10.244.1.0/24, nodes 172.18.0.0/16).
import { spawnSync } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import { NODE, plan } from './service-plans.js';
import type { RenderInput } from '@natplan/node-agent/render';
import { nftCleanupScript } from '@natplan/node-agent/render';
import { storeNftablesPort } from '@natplan/node-agent/applier';

// --smoke: tiny sizes, so CI proves the benchmark still runs (timings are not judged).
const smoke = process.argv.includes('--smoke');
const args = process.argv.slice(2).filter((a) => !a.startsWith('--'));
const sizes = (smoke ? '50,200' : args[0] ?? '1000,10000').split(',').map(Number);
const perService = Number(args[1] ?? 10);
/** Service i of the agent benches' plans (bench/service-plans.ts), as render input. */
function service(i: number, endpointShift = 0): RenderInput['services'][number] {
  const { metadata, spec } = plan(i, 1, endpointShift, perService);
  return { namespace: metadata?.namespace ?? '', name: metadata?.name ?? '', spec };
}

function input(count: number): RenderInput {
  return {
    node: {
      nodeName: NODE, zone: 'zone-1', nodePortAddresses: ['172.18.0.2'], podCIDRs: ['10.244.1.0/24'],
      clusterCIDRs: ['10.244.0.0/14'], exposures: [],
    },
    services: Array.from({ length: count }, (_, i) => service(i)),
    identity: { nodeName: NODE, zone: 'zone-1' },
    options: { serviceCIDRs: ['10.96.0.0/16'] },
  };
}

const netns = `natplan-bench-${process.pid}`;
function run(args: string[], stdin?: string): { ms: number; ok: boolean; stderr: string } {
  const start = performance.now();
  const result = spawnSync(args[0] ?? '', args.slice(1), { input: stdin, encoding: 'utf8', maxBuffer: 1 << 30 });
  return { ms: performance.now() - start, ok: result.status === 0, stderr: (result.stderr ?? '').slice(0, 400) };
}
/** Runs an nft script in the bench namespace; a refused script fails the run (exit 1) after printing. */
function nft(script: string): { ms: number; ok: boolean; stderr: string } {
  const result = run(['ip', 'netns', 'exec', netns, 'nft', '-f', '-'], script);
  if (!result.ok) process.exitCode = 1;
  return result;
}

function timed<T>(f: () => T): [T, number] {
  const start = performance.now();
  const value = f();
  return [value, performance.now() - start];
}
const fmt = (ms: number): string => `${ms.toFixed(1).padStart(7)} ms`;
const mb = (s: string): string => `${(Buffer.byteLength(s) / 1e6).toFixed(1).padStart(5)} MB`;

const created = run(['ip', 'netns', 'add', netns]);
if (!created.ok) throw new Error(`ip netns add failed: ${created.stderr}`);
try {
  console.log(`nft: ${run(['nft', '--version']).ok ? spawnSync('nft', ['--version'], { encoding: 'utf8' }).stdout.trim() : '?'}; node ${process.version}; ${perService} endpoints per Service`);
  storeNftablesPort().render(input(200)); // warm-up for the JIT
  for (const count of sizes) {
    const desired = input(count);
    // As the agent's applier does: one element store per applier, filled at start-up.
    const port = storeNftablesPort();
    const [ruleset, renderMs] = timed(() => port.render(desired));
    const [script, scriptMs] = timed(() => port.fullSyncScript(ruleset));
    port.committed?.(ruleset);
    const lines = script.split('\n');
    const rules = lines.filter((l) => l.startsWith('add rule')).length;
    const chains = lines.filter((l) => l.startsWith('add chain')).length;
    nft(nftCleanupScript());
    const load = nft(script);
    console.log(`${String(count).padStart(6)} Services: render ${fmt(renderMs)} + script ${fmt(scriptMs)} = cold start ${fmt(renderMs + scriptMs)} (plans to script), ${mb(script)}, ${chains} chains, ${rules} rules; nft -f cold load ${fmt(load.ms)}${load.ok ? '' : ` FAILED: ${load.stderr}`}`);
    if (count !== sizes[sizes.length - 1]) continue;

    // One Service change: Service 7 gets new endpoints, with `count` Services present.
    const changed: RenderInput = { ...desired, services: desired.services.map((s, i) => (i === 7 ? service(7, count + 1) : s)) };
    const [next, nextMs] = timed(() => port.render(changed));
    const [delta, deltaMs] = timed(() => port.incrementalScript(ruleset, next));
    const apply = nft(delta ?? '');
    port.committed?.(next);
    console.log(`        one Service change at ${count}: render ${fmt(nextMs)} + diff ${fmt(deltaMs)}, ${Buffer.byteLength(delta ?? '')} bytes; nft -f ${fmt(apply.ms)}${apply.ok ? '' : ` FAILED: ${apply.stderr}`}`);
    const [previous, backMs] = timed(() => port.render(desired));
    const [back, backDiffMs] = timed(() => port.incrementalScript(next, previous));
    const again = nft(back ?? '');
    port.committed?.(previous);
    console.log(`        and back: render ${fmt(backMs)} + diff ${fmt(backDiffMs)}; nft -f ${fmt(again.ms)}${again.ok ? '' : ` FAILED: ${again.stderr}`}`);
  }
} finally {
  run(['ip', 'netns', 'delete', netns]);
}
