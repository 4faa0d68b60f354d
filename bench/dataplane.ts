/**
 * Dataplane benchmark (DESIGN.md §7): `npx tsx bench/dataplane.ts [--quick | --smoke]`.
 *
 * Everything runs in network namespaces this script creates (see e2e/netns); the
 * machine's own ruleset is never touched. Prints figures; no pass/fail on speed.
 *  1. cold load of 1k / 10k / 30k Services x 10 endpoints, per backend (render + apply);
 *  2. a one-Service change with 30k present (incremental apply), per backend;
 *  3. new-connection latency to a cluster IP with 1k and with 30k Services present,
 *     per backend, and the ratio 30k/1k measured in the same run.
 *
 * Backends: nftables; iptables with the x_tables (legacy) userspace; iptables-nft, the
 * host's default `iptables`, only at 1k unless `--iptables-nft-all` is given: its restore
 * of 1k Services x 10 endpoints already takes ~8 s here (legacy: 0.25 s), so 30k would
 * take many minutes on these 2 shared cores.
 */
import { cpus, loadavg } from 'node:os';
import { performance } from 'node:perf_hooks';
import type { ServiceNatPlanSpec } from '@natplan/api';
import { Topology, connectLatencies, startEcho } from '@natplan/e2e/netns';
import type { Host } from '@natplan/e2e/netns';
import { createApplier } from '@natplan/node-agent/applier';
import type { Applier, ApplierOptions } from '@natplan/node-agent/applier';
import type { Backend } from '@natplan/node-agent/exec';
import { nftFullSyncScript, renderIptables, renderNftables } from '@natplan/node-agent/render';
import type { RenderInput } from '@natplan/node-agent/render';

const quick = process.argv.includes('--quick');
// --smoke: tiny sizes, so CI proves the benchmark still runs end to end (timings are not judged).
const smoke = process.argv.includes('--smoke');
const SIZES = smoke ? [20, 50] : quick ? [1000, 5000] : [1000, 10_000, 30_000];
const LARGE = SIZES[SIZES.length - 1] ?? 30_000;
const SMALL = SIZES[0] ?? 1000;
const ENDPOINTS_PER_SERVICE = 10;
const CONNECTS = smoke ? 10 : quick ? 100 : 300;
const CHANGES = 3;

interface BenchCase {
  readonly label: string;
  readonly backend: Backend;
  readonly options: ApplierOptions;
  readonly sizes: readonly number[];
  readonly latency: boolean;
}

const LONG = { commandTimeoutMs: 15 * 60_000 };
const CASES: readonly BenchCase[] = [
  { label: 'nftables', backend: 'nftables', options: LONG, sizes: SIZES, latency: true },
  { label: 'ipt-legacy', backend: 'iptables', options: { ...LONG, iptablesVariant: 'legacy' }, sizes: SIZES, latency: true },
  {
    label: 'ipt-nft', backend: 'iptables', options: LONG,
    sizes: process.argv.includes('--iptables-nft-all') ? SIZES : [SMALL], latency: process.argv.includes('--iptables-nft-all'),
  },
];

// Addresses from the test ranges (e2e/netns/topology.ts). Service i gets cluster IP
// 10.96.x.y; its endpoints are drawn from 10.244.0.0/16 (pods are shared between Services
// at 30k x 10, which the dataplane does not care about). The latency probe's Service is
// the LAST one, so a backend that matches Services one by one pays the full walk.
const SERVER_POD = '10.244.200.20';
const CLIENT_POD = '10.244.200.10';
const POD_GATEWAY = '10.244.200.1';

function clusterIP(i: number): string {
  return `10.96.${Math.floor((i + 1) / 256)}.${(i + 1) % 256}`;
}

function podAddress(k: number): string {
  const n = k % 50_000;
  return `10.244.${Math.floor(n / 250)}.${(n % 250) + 2}`;
}

function benchService(i: number, endpoints: string[]): RenderInput['services'][number] {
  const spec: ServiceNatPlanSpec = {
    service: { name: `svc-${i}`, uid: `uid-${i}` },
    part: 0,
    ipFamilies: ['IPv4'],
    clusterIPs: [clusterIP(i)],
    ports: [{ name: 'http', protocol: 'TCP', port: 80 }],
    endpointCount: endpoints.length,
    endpoints: endpoints.map((address) => ({
      address, nodeName: 'node-a', ready: true, serving: true, terminating: false,
      ports: [{ name: 'http', port: 8080 }], forCluster: true, forLocal: true,
    })),
  };
  return { namespace: 'bench', name: `svc-${i}`, spec };
}

function withFirstEndpoint(service: RenderInput['services'][number], address: string): RenderInput['services'][number] {
  const [first, ...rest] = service.spec.endpoints ?? [];
  if (!first) return service;
  return { ...service, spec: { ...service.spec, endpoints: [{ ...first, address }, ...rest] } };
}

function benchInput(services: number, probe = false): RenderInput {
  const list = Array.from({ length: services }, (_, i) => {
    const isProbe = probe && i === services - 1;
    const endpoints = isProbe ? [SERVER_POD] : Array.from({ length: ENDPOINTS_PER_SERVICE }, (_, j) => podAddress(i * ENDPOINTS_PER_SERVICE + j));
    return benchService(i, endpoints);
  });
  return {
    node: { nodeName: 'node-a', nodePortAddresses: ['172.18.0.2'], podCIDRs: ['10.244.0.0/16'], clusterCIDRs: ['10.244.0.0/16'] },
    services: list,
    identity: { nodeName: 'node-a' },
  };
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] ?? NaN;
}

function percentile(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)] ?? NaN;
}

/** The pure part of a cold load, to tell rendering from the kernel's share. */
function renderFor(backend: Backend, input: RenderInput): void {
  if (backend === 'nftables') nftFullSyncScript(renderNftables(input));
  else renderIptables(input);
}

const ms = (x: number): string => `${x.toFixed(x < 10 ? 3 : 0)} ms`;

async function mustApply(applier: Applier<RenderInput>, input: RenderInput): Promise<{ ms: number; mode: string }> {
  const started = performance.now();
  const result = await applier.apply(input);
  if (!result.ok) throw new Error(result.reason);
  return { ms: performance.now() - started, mode: result.mode };
}

async function coldLoads(topology: Topology): Promise<void> {
  console.log(`\n## Cold load (${ENDPOINTS_PER_SERVICE} endpoints per Service, render + apply) and one-Service change at the largest size`);
  for (const bench of CASES) {
    for (const size of bench.sizes) {
      const node = await topology.addHost(`cold-${bench.label}-${size}`);
      let input = benchInput(size);
      const renderStart = performance.now();
      renderFor(bench.backend, input);
      const renderMs = performance.now() - renderStart;
      const applier = createApplier(bench.backend, node.exec, bench.options);
      const cold = await mustApply(applier, input);
      let line = `${bench.label.padEnd(10)} ${String(size).padStart(6)} Services: cold load ${ms(cold.ms)} (${cold.mode}; render alone ${ms(renderMs)})`;
      if (size === bench.sizes[bench.sizes.length - 1]) {
        const changes: number[] = [];
        for (let c = 0; c < CHANGES; c += 1) {
          // One Service's endpoints change (one endpoint replaced), as after a pod restart. The
          // changed plan is a new object, as an informer delivers it: the element store keys on
          // object identity, so mutating the old one in place would look like no change.
          const index = (c * 7919) % size;
          input = { ...input, services: input.services.map((s, i) => (i === index ? withFirstEndpoint(s, podAddress(40_000 + c)) : s)) };
          const change = await mustApply(applier, input);
          if (change.mode !== 'incremental') throw new Error(`expected an incremental sync, got ${change.mode}`);
          changes.push(change.ms);
        }
        line += `; one-Service change median ${ms(median(changes))} (max ${ms(Math.max(...changes))}, n=${CHANGES})`;
      }
      console.log(line);
      await topology.removeHost(node);
    }
  }
}

async function latencies(topology: Topology): Promise<void> {
  console.log(`\n## New-connection latency to a cluster IP (${CONNECTS} sequential connects, pod -> node -> pod; the probed Service is the last of N)`);
  for (const bench of CASES.filter((c) => c.latency)) {
    const node = await topology.addHost(`lat-${bench.label}`, { router: true });
    const client = await topology.addPod(node, `lat-${bench.label}-client`, { addresses: [CLIENT_POD], gateways: [POD_GATEWAY] });
    const server = await topology.addPod(node, `lat-${bench.label}-server`, { addresses: [SERVER_POD], gateways: [POD_GATEWAY] });
    await startEcho(server, { tcp: [8080] });
    const applier = createApplier(bench.backend, node.exec, bench.options);
    const figures: Record<number, { median: number; p99: number }> = {};
    for (const size of [SMALL, LARGE]) {
      await mustApply(applier, benchInput(size, true));
      await measure(client, clusterIP(size - 1), 20); // warm-up: ARP, route and socket caches
      const { samples, failures } = await measure(client, clusterIP(size - 1), CONNECTS);
      if (failures > 0) console.log(`  (${failures} connects failed)`);
      const figure = { median: median(samples), p99: percentile(samples, 99) };
      figures[size] = figure;
      console.log(`${bench.label.padEnd(10)} ${String(size).padStart(6)} Services: median ${ms(figure.median)}, p99 ${ms(figure.p99)}`);
    }
    const small = figures[SMALL];
    const large = figures[LARGE];
    if (small && large) {
      console.log(`${bench.label.padEnd(10)} ratio ${LARGE}/${SMALL}: median x${(large.median / small.median).toFixed(2)}, p99 x${(large.p99 / small.p99).toFixed(2)}`);
    }
    await topology.removeHost(client);
    await topology.removeHost(server);
    await topology.removeHost(node);
  }
}

function measure(client: Host, address: string, count: number) {
  return connectLatencies(client, address, 80, count);
}

async function main(): Promise<void> {
  const topology = await Topology.create();
  const stop = () => { void topology.destroy().then(() => process.exit(130)); };
  process.once('SIGINT', stop);
  try {
    console.log(`# natplan dataplane benchmark (${new Date().toISOString()}, node ${process.version}${smoke ? ', --smoke' : quick ? ', --quick' : ''})`);
    // Other work on the machine inflates every figure; say how busy it was.
    console.log(`# ${cpus().length} cores, load average ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
    await coldLoads(topology);
    await latencies(topology);
  } finally {
    await topology.destroy();
  }
}

await main();
