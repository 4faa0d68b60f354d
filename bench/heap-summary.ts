/**
 * What a V8 heap snapshot holds, by kind of object: self size and count per node type and
 * constructor, largest first, and the retained size of the largest objects under the GC
 * roots' first levels. For the agent's RSS budget (issue 13): where its heap goes.
 *   npx tsx bench/heap-summary.ts FILE.heapsnapshot [--top=30]
 * (`bench/vs-kube-proxy.ts --agent-heap-snapshot=DIR` writes one of the real agent.)
 * A script that prints figures; no test reads them.
 */
import { readFileSync } from 'node:fs';

interface Snapshot {
  snapshot: { meta: { node_fields: string[]; node_types: [string[], ...unknown[]]; edge_fields: string[]; edge_types: [string[], ...unknown[]] } };
  nodes: number[];
  edges: number[];
  strings: string[];
}

const file = process.argv[2];
if (!file) throw new Error('usage: npx tsx bench/heap-summary.ts FILE.heapsnapshot [--top=30]');
const top = Number(process.argv.find((a) => a.startsWith('--top='))?.slice('--top='.length) ?? 30);
const snap = JSON.parse(readFileSync(file, 'utf8')) as Snapshot;
const { node_fields: fields, node_types: [types] } = snap.snapshot.meta;
const width = fields.length;
const at = (name: string): number => fields.indexOf(name);
const [typeAt, nameAt, sizeAt] = [at('type'), at('name'), at('self_size')];
const MiB = (n: number): string => `${(n / 2 ** 20).toFixed(1)} MiB`;

const groups = new Map<string, { size: number; count: number }>();
let total = 0;
for (let i = 0; i < snap.nodes.length; i += width) {
  const type = types[snap.nodes[i + typeAt] as number] as string;
  const size = snap.nodes[i + sizeAt] as number;
  // Strings group by type alone (their names are their contents); objects by constructor.
  const name = type === 'string' || type === 'concatenated string' || type === 'sliced string' || type === 'number'
    ? '' : String(snap.strings[snap.nodes[i + nameAt] as number]).slice(0, 60);
  const key = `${type}${name ? ` ${name}` : ''}`;
  const g = groups.get(key) ?? { size: 0, count: 0 };
  g.size += size;
  g.count++;
  groups.set(key, g);
  total += size;
}
console.log(`${file}: ${snap.nodes.length / width} objects, ${MiB(total)} self size`);
for (const [key, g] of [...groups].sort((a, b) => b[1].size - a[1].size).slice(0, top)) {
  console.log(`${MiB(g.size).padStart(11)} ${String(g.count).padStart(9)}  ${key}`);
}
