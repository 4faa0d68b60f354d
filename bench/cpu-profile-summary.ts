// Where a benchmark's own (Node.js) CPU time goes: summarises a V8 .cpuprofile written by
// `node --cpu-prof` into self time per function and per source file, so a budget the
// event loop misses comes with its profile (issue 13). A script, not a test:
//   node --cpu-prof --cpu-prof-dir=/tmp/natplan-prof --import tsx bench/render-load.ts 10000
//   npx tsx bench/cpu-profile-summary.ts /tmp/natplan-prof/<file>.cpuprofile [top, default 25]
import { readFileSync } from 'node:fs';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string };
  hitCount?: number;
}
interface CpuProfile { nodes: ProfileNode[]; samples: number[]; timeDeltas: number[] }

const [file, topArg] = process.argv.slice(2);
if (!file) {
  console.error('usage: npx tsx bench/cpu-profile-summary.ts FILE.cpuprofile [top]');
  process.exit(2);
}
const top = Number(topArg ?? 25);
const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;

// Self time per node: each sample's following time delta belongs to the sampled node.
const selfMs = new Map<number, number>();
profile.samples.forEach((id, i) => selfMs.set(id, (selfMs.get(id) ?? 0) + (profile.timeDeltas[i + 1] ?? 0) / 1000));
const total = [...selfMs.values()].reduce((a, b) => a + b, 0);

const shortUrl = (url: string): string => url.replace(/^file:\/\//, '').replace(/^.*\/(node_modules\/)/, '$1').replace(process.cwd() + '/', '') || '(native)';
const byFunction = new Map<string, number>();
const byFile = new Map<string, number>();
for (const node of profile.nodes) {
  const ms = selfMs.get(node.id) ?? 0;
  if (!ms) continue;
  const { functionName, url } = node.callFrame;
  const where = shortUrl(url);
  // No line numbers: tsx runs transpiled code, whose lines are not the source's.
  const fn = `${functionName || '(anonymous)'} ${where}`;
  byFunction.set(fn, (byFunction.get(fn) ?? 0) + ms);
  byFile.set(where, (byFile.get(where) ?? 0) + ms);
}

const print = (title: string, rows: Map<string, number>) => {
  console.log(`${title} (of ${(total / 1000).toFixed(2)} s sampled)`);
  for (const [name, ms] of [...rows].sort((a, b) => b[1] - a[1]).slice(0, top)) {
    console.log(`  ${((ms / total) * 100).toFixed(1).padStart(5)}%  ${(ms / 1000).toFixed(3).padStart(7)} s  ${name}`);
  }
};
print('self time by function', byFunction);
print('self time by file', byFile);
