// Planner benchmark (DESIGN.md §7): full plan of 10k Services / 100k endpoints (budget
// 2 s on one core) and one endpoint change (budget 5 ms), plus the bytes an endpoint
// change writes next to the bytes of the EndpointSlice change (DESIGN.md §1: within 2x).
// A script, not a test; it prints figures and asserts nothing:
//   npx tsx bench/planner.ts [services] [endpointsPerService] [--smoke]
// Addresses follow the project's test ranges (cluster IPs 10.96.0.0/16, pods 10.244.0.0/16,
// nodes 172.18.0.0/16, external 203.0.113.0/24).
import { performance } from 'node:perf_hooks';
import type { V1EndpointSlice, V1Node, V1Service } from '@kubernetes/client-node';
import type { NatExposureGrant, NatExposurePolicy, ServiceNatPlanSpec } from '@natplan/api';
import { canonicalJson } from '@natplan/controller-kit/hash';
import {
  compilePlannerConfig, createSliceMemo, planNode, planService, resolveExposures, type PlannerConfig,
} from '@natplan/operator/planner';

// --smoke: tiny sizes, so CI proves the benchmark still runs (timings are not judged).
const smoke = process.argv.includes('--smoke');
const args = process.argv.slice(2).filter((a) => !a.startsWith('--'));
const services = smoke ? 200 : Number(args[0] ?? 10_000);
const perService = Number(args[1] ?? 10);
const nodeCount = 100;

const compiled = compilePlannerConfig({
  mode: 'replace', proxyName: 'natplan', externalIPAllowList: ['192.0.2.0/24'], clusterCIDRs: ['10.244.0.0/16'], masqueradeAll: false, backend: 'auto',
});
if (!compiled.ok) throw new Error(compiled.errors.join('; '));
const config: PlannerConfig = compiled.config;

function makeService(i: number): V1Service {
  const ip = `10.96.${(i >> 8) & 255}.${i & 255}`;
  return {
    metadata: { namespace: `ns-${i % 50}`, name: `svc-${i}`, uid: `uid-${i}` },
    spec: {
      type: i % 10 === 0 ? 'NodePort' : 'ClusterIP', clusterIP: ip, clusterIPs: [ip], ipFamilies: ['IPv4'], trafficDistribution: 'PreferClose',
      ports: [{ name: 'http', protocol: 'TCP', port: 80, ...(i % 10 === 0 ? { nodePort: 30000 + (i % 2000) } : {}) }, { name: 'metrics', protocol: 'TCP', port: 9090 }],
    },
  };
}

let podCounter = 0;
/** Slices of up to 100 endpoints, as the EndpointSlice controller cuts them. */
function makeSlices(i: number, count: number): V1EndpointSlice[] {
  const slices: V1EndpointSlice[] = [];
  for (let start = 0; start < count; start += 100) {
    slices.push({
      metadata: { name: `svc-${i}-${start / 100}`, annotations: { 'endpoints.kubernetes.io/last-change-trigger-time': '2026-11-22T10:00:00Z' } },
      addressType: 'IPv4',
      ports: [{ name: 'http', protocol: 'TCP', port: 8080 }, { name: 'metrics', protocol: 'TCP', port: 9090 }],
      endpoints: Array.from({ length: Math.min(100, count - start) }, () => {
        const pod = podCounter++;
        const node = pod % nodeCount;
        return {
          addresses: [`10.${(pod >> 16) & 255}.${(pod >> 8) & 255}.${pod & 255}`],
          nodeName: `node-${node}`, zone: `zone-${node % 3}`,
          conditions: { ready: true, serving: true, terminating: false },
          hints: { forZones: [{ name: `zone-${node % 3}` }] },
          targetRef: { kind: 'Pod', namespace: `ns-${i % 50}`, name: `pod-${pod}`, uid: `00000000-0000-0000-0000-${String(pod).padStart(12, '0')}` },
        };
      }),
    });
  }
  return slices;
}

const heapMB = (): string => `${(process.memoryUsage().heapUsed / 1e6).toFixed(0)} MB heap`;
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN;
function plan(input: Parameters<typeof planService>[0]): readonly ServiceNatPlanSpec[] {
  const result = planService(input, config);
  return result.kind === 'plan' ? result.parts : [];
}

console.log(`input: ${services} Services x ${perService} endpoints, ${nodeCount} nodes; node ${process.version}`);
const inputs = Array.from({ length: services }, (_, i) => ({ service: makeService(i), slices: makeSlices(i, perService) }));
const baseline = process.memoryUsage().heapUsed;
console.log(`after building the input: ${heapMB()}`);

// Warm-up so the JIT does not count against the first measurement.
for (const input of inputs.slice(0, 200)) planService(input, config);

let peak = 0;
let start = performance.now();
const planned = new Map<string, readonly ServiceNatPlanSpec[]>();
for (const [i, input] of inputs.entries()) {
  planned.set(input.service.metadata?.name ?? '', plan(input));
  if (i % 1000 === 0) peak = Math.max(peak, process.memoryUsage().heapUsed);
}
const fullMs = performance.now() - start;
peak = Math.max(peak, process.memoryUsage().heapUsed);
let parts = 0;
let bytes = 0;
for (const specs of planned.values()) for (const spec of specs) { parts++; bytes += JSON.stringify(spec).length; }
console.log(`full plan: ${fullMs.toFixed(0)} ms (budget 2000 ms) -> ${parts} parts, ${(bytes / 1e6).toFixed(1)} MB of specs; peak heap ${((peak - baseline) / 1e6).toFixed(0)} MB above the input`);

start = performance.now();
for (const specs of planned.values()) for (const spec of specs) canonicalJson(spec);
console.log(`canonical JSON of every part (the writer compares these): ${(performance.now() - start).toFixed(0)} ms`);

/** One endpoint of one slice flips between ready and terminating, as a fresh object the way an informer delivers it. */
function withOneChange(slices: readonly V1EndpointSlice[], round: number): { slices: V1EndpointSlice[]; changedSlice: V1EndpointSlice } {
  const index = round % slices.length;
  const original = slices[index] as V1EndpointSlice;
  const flip = (e: V1EndpointSlice['endpoints'][number]) => {
    const ready = !(e.conditions?.ready ?? true);
    return { ...e, conditions: { ready, serving: true, terminating: !ready } };
  };
  const endpoints = original.endpoints.map((e, k) => (k === (round * 7) % original.endpoints.length ? flip(e) : e));
  const changedSlice = { ...original, endpoints, metadata: { ...original.metadata, annotations: { 'endpoints.kubernetes.io/last-change-trigger-time': `2026-11-22T10:00:${String(round % 60).padStart(2, '0')}Z` } } };
  const copy = [...slices];
  copy[index] = changedSlice;
  return { slices: copy, changedSlice };
}

function measureChange(label: string, input: { service: V1Service; slices: V1EndpointSlice[] }, rounds: number): void {
  const memo = createSliceMemo();
  let previous = plan({ ...input, sliceMemo: memo });
  let slices = input.slices;
  const times: number[] = [];
  const memoTimes: number[] = [];
  let writtenBytes = 0;
  let sliceBytes = 0;
  let writes = 0;
  for (let round = 0; round < rounds; round++) {
    const change = withOneChange(slices, round);
    slices = change.slices;
    let t = performance.now();
    plan({ ...input, slices, previous });
    times.push(performance.now() - t);
    t = performance.now();
    const next = plan({ ...input, slices, previous, sliceMemo: memo });
    memoTimes.push(performance.now() - t);
    const before = new Map(previous.map((p) => [p.part, canonicalJson(p)]));
    for (const spec of next) {
      if (before.get(spec.part) === canonicalJson(spec)) continue;
      writes++;
      writtenBytes += JSON.stringify(spec).length;
    }
    sliceBytes += JSON.stringify(change.changedSlice).length;
    previous = next;
  }
  console.log(`${label}: median ${median(times).toFixed(2)} ms, ${median(memoTimes).toFixed(2)} ms with a slice memo (budget 5 ms); `
    + `${(writes / rounds).toFixed(2)} parts written per change, ${(writtenBytes / rounds / 1024).toFixed(1)} KiB vs ${(sliceBytes / rounds / 1024).toFixed(1)} KiB of EndpointSlice (${(writtenBytes / sliceBytes).toFixed(2)}x)`);
}

const first = inputs[1];
if (first) measureChange(`one endpoint change, ${perService}-endpoint Service`, first, 200);
measureChange('one endpoint change, 5,000-endpoint Service', { service: makeService(1), slices: makeSlices(1, 5000) }, 50);

const nodes: V1Node[] = Array.from({ length: nodeCount }, (_, n) => ({
  metadata: { name: `node-${n}`, labels: { 'topology.kubernetes.io/zone': `zone-${n % 3}`, edge: n % 10 === 0 ? 'true' : 'false' } },
  spec: { podCIDRs: [`10.244.${n}.0/24`] },
  status: { addresses: [{ type: 'InternalIP', address: `172.18.${n >> 8}.${n & 255}` }, { type: 'ExternalIP', address: `203.0.113.${n & 255}` }] },
}));
const policies: NatExposurePolicy[] = Array.from({ length: 100 }, (_, p) => ({
  apiVersion: 'natplan.io/v1alpha1', kind: 'NatExposurePolicy',
  metadata: { namespace: `ns-${p % 50}`, name: `policy-${p}`, creationTimestamp: new Date(Date.UTC(2026, 0, 1, 0, p)) },
  spec: {
    service: { name: `svc-${p}` }, ports: [{ servicePort: 80, externalPort: 8000 + p, protocol: 'TCP' }],
    nodes: { selector: { matchLabels: { edge: 'true' } } }, addresses: { fromNode: 'ExternalIP' }, sourceNAT: 'Masquerade',
  },
}));
// One grant per namespace, as an admin delegating a port range to each team would write them.
const grants: NatExposureGrant[] = Array.from({ length: 50 }, (_, n) => ({
  apiVersion: 'natplan.io/v1alpha1', kind: 'NatExposureGrant', metadata: { name: `team-${n}` },
  spec: { namespaces: { names: [`ns-${n}`] }, addresses: { fromNode: ['ExternalIP'] }, ports: [{ protocol: 'TCP', from: 8000, to: 8099 }] },
}));
start = performance.now();
const resolution = resolveExposures({ policies, grants, services: inputs.map((i) => i.service), nodes }, config);
const nodeSpecs = nodes.map((node) => planNode({ node, exposures: resolution.byNode.get(node.metadata?.name ?? '') ?? [] }, config));
console.log(`exposures: ${policies.length} policies over ${nodes.length} nodes and ${services} Services -> ${nodeSpecs.reduce((n, s) => n + (s.exposures?.length ?? 0), 0)} exposures, ${(performance.now() - start).toFixed(0)} ms`);
