// Cost of the kernel check (issue 8): with N Services x 10 endpoints loaded by the real
// nftables applier, how long a full sync takes (it includes reading the rule handles
// back), that handle read alone (`nft -a -t list table ip natplan`, once per full sync),
// `nft list tables` (the cold-start probe of a large first load),
// an idle check (`verifyKernel`: one `nft --check` batch), and a one-Service change with
// its steps (the applier's stagesMs: render, check before, commit, check after). A script, not a test; it prints figures:
//   npx tsx bench/kernel-check.ts [sizes, e.g. 1000,5000 | --smoke]
// --smoke: 50 Services, so CI can prove the script still runs (timings are not judged).
// nft runs only inside a private network namespace created here and deleted at the end.
// Addresses: cluster IPs 10.96.0.0/16, pods 10.245.0.0/16 and up (other nodes).
import { spawnSync } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import type { ServiceNatPlanSpec } from '@natplan/api';
import { createApplier } from '@natplan/node-agent/applier';
import { createExec } from '@natplan/node-agent/exec';
import type { RenderInput } from '@natplan/node-agent/render';

const smoke = process.argv.includes('--smoke');
const sizes = smoke ? [50] : (process.argv[2] ?? '1000,5000').split(',').map(Number);
const CHANGES = smoke ? 3 : 11;

function service(i: number, shift = 0): RenderInput['services'][number] {
  const spec: ServiceNatPlanSpec = {
    service: { name: `svc-${i}` }, part: 0, ipFamilies: ['IPv4'], clusterIPs: [`10.96.${(i >> 8) & 255}.${i & 255}`],
    ports: [{ name: 'http', protocol: 'TCP', port: 80, ...(i % 10 === 0 ? { nodePort: 30000 + ((i / 10) % 2700) } : {}) }],
    endpoints: Array.from({ length: 10 }, (_, k) => {
      const n = i * 10 + k + shift;
      return { address: `10.${245 + ((n >> 16) & 7)}.${(n >> 8) & 255}.${n & 255}`, nodeName: 'node-x', ready: true, serving: true, terminating: false, ports: [{ name: 'http', port: 8080 }], forCluster: true, forLocal: true };
    }),
  };
  return { namespace: 'bench', name: `svc-${i}`, spec };
}

// A fresh list each time, as the agent's informer gives: the element store keeps the list
// it was last handed and compares against it, so a list changed in place looks unchanged.
const input = (services: RenderInput['services']): RenderInput => ({
  node: { nodeName: 'node-a', nodePortAddresses: ['172.18.0.2'], podCIDRs: ['10.244.1.0/24'], clusterCIDRs: ['10.244.0.0/14'], serviceCIDRs: ['10.96.0.0/16'] },
  services: [...services], identity: { nodeName: 'node-a' },
});

const netns = `natplan-bench-kcheck-${process.pid}`;
spawnSync('ip', ['netns', 'add', netns]);
try {
  for (const size of sizes) {
    const exec = createExec({ netns });
    const applier = createApplier('nftables', exec);
    const services = Array.from({ length: size }, (_, i) => service(i));
    let t = performance.now();
    const full = await applier.apply(input(services));
    const fullMs = performance.now() - t;
    if (!full.ok || !full.kernel.confirmed) throw new Error(`full sync not confirmed: ${JSON.stringify(full)}`);
    t = performance.now();
    await exec.run(['nft', '-a', '-t', 'list', 'table', 'ip', 'natplan']);
    const listMs = performance.now() - t;
    t = performance.now();
    await exec.run(['nft', 'list', 'tables']);
    const tablesMs = performance.now() - t;
    const idle: number[] = [];
    for (let i = 0; i < 5; i++) {
      t = performance.now();
      const check = await applier.verifyKernel();
      idle.push(performance.now() - t);
      if (!check?.confirmed) throw new Error('idle check not confirmed');
    }
    const change: number[] = [];
    const stages = new Map<string, number[]>();
    for (let i = 0; i < CHANGES; i++) {
      services[i] = service(i, 1_000_000 + i);
      t = performance.now();
      const result = await applier.apply(input(services));
      change.push(performance.now() - t);
      if (!result.ok || result.mode !== 'incremental' || !result.kernel.confirmed) throw new Error(`change: ${JSON.stringify(result)}`);
      for (const [stage, ms] of Object.entries(result.stagesMs)) stages.set(stage, [...(stages.get(stage) ?? []), ms]);
    }
    const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? 0;
    const steps = [...stages].filter(([, ms]) => median(ms) >= 0.05).map(([stage, ms]) => `${stage} ${median(ms).toFixed(1)}`).join(', ');
    console.log(`${size} Services: full sync ${fullMs.toFixed(0)} ms (with the handle read and check); handle read alone ${listMs.toFixed(0)} ms; nft list tables ${tablesMs.toFixed(0)} ms; idle check median ${median(idle).toFixed(1)} ms; ` +
      `one Service change median ${median(change).toFixed(1)} ms, max ${Math.max(...change).toFixed(1)} ms of ${CHANGES} (medians in ms: ${steps})`);
    await applier.cleanup();
  }
} finally {
  spawnSync('ip', ['netns', 'del', netns]);
}
