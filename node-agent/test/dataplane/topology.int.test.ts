import { describe, expect, it } from 'vitest';
import { tcpProbe } from '@natplan/e2e/netns';
import type { Host } from '@natplan/e2e/netns';
import type { ServiceNatPlanEndpoint } from '@natplan/api';
import { BACKENDS } from './backends.js';
import type { BackendCase } from './backends.js';
import type { Cluster } from './cluster.js';
import { useDataplane } from './parity-harness.js';
import type { Zones } from './parity-harness.js';
import { endpoint, service } from './plans.js';
import type { PodKey } from './plans.js';

// Topology-aware routing with real packets: the hints the operator leaves in the plan
// (forZones for PreferClose, forNodes for PreferSameNode; see operator/src/planner/traffic.ts)
// steer each node's traffic, and the node-side fallbacks keep a node nobody hinted for
// working. Pods a1, a2 run on node-a, b1 on node-b (cluster.ts).

type Hints = Pick<ServiceNatPlanEndpoint, 'forZones' | 'forNodes'>;
type From = 'podA1' | 'podB1' | 'nodeA';

/** Service `name` at `clusterIP` whose endpoints carry the given hints. */
function hinted(name: string, clusterIP: string, hints: Partial<Record<PodKey, Hints>>) {
  return service(name, clusterIP, [], (s) => {
    s.ports = [{ name: 'tcp', protocol: 'TCP', port: 80 }];
    s.endpoints = Object.entries(hints).map(([pod, h]) => endpoint(pod as PodKey, (e) => { Object.assign(e, h); }));
    s.endpointCount = s.endpoints.length;
  });
}

const SAME_ZONE: Zones = { 'node-a': 'zone-1', 'node-b': 'zone-1' };

interface Row {
  name: string;
  zones?: Zones;
  hints: Partial<Record<PodKey, Hints>>;
  from: From;
  /** Every server that must answer, and no other. */
  expect: string[];
}

const rows: Row[] = [
  {
    name: 'PreferClose: a pod in zone-2 uses only the zone-2 endpoint',
    hints: { a1: { forZones: ['zone-1'] }, a2: { forZones: ['zone-1'] }, b1: { forZones: ['zone-2'] } },
    from: 'podB1', expect: ['pod-b1'],
  },
  {
    name: 'PreferClose: a pod in zone-1 uses only the zone-1 endpoints',
    hints: { a1: { forZones: ['zone-1'] }, a2: { forZones: ['zone-1'] }, b1: { forZones: ['zone-2'] } },
    from: 'podA1', expect: ['pod-a1', 'pod-a2'],
  },
  {
    name: 'PreferClose: a node (output path) in zone-1 uses only the zone-1 endpoints',
    hints: { a1: { forZones: ['zone-1'] }, a2: { forZones: ['zone-1'] }, b1: { forZones: ['zone-2'] } },
    from: 'nodeA', expect: ['pod-a1', 'pod-a2'],
  },
  {
    name: 'PreferClose safeguard: no endpoint hinted for zone-2, so zone-2 uses them all',
    hints: { a1: { forZones: ['zone-1'] }, a2: { forZones: ['zone-1'] }, b1: { forZones: ['zone-1'] } },
    from: 'podB1', expect: ['pod-a1', 'pod-a2', 'pod-b1'],
  },
  {
    // Both nodes in zone-1: the zone hints alone would give all three endpoints.
    name: 'PreferSameNode: node-b keeps its own endpoint although all share its zone',
    zones: SAME_ZONE,
    hints: { a1: { forNodes: ['node-a'], forZones: ['zone-1'] }, a2: { forNodes: ['node-a'], forZones: ['zone-1'] }, b1: { forNodes: ['node-b'], forZones: ['zone-1'] } },
    from: 'podB1', expect: ['pod-b1'],
  },
  {
    name: 'PreferSameNode: node-a keeps its two endpoints',
    zones: SAME_ZONE,
    hints: { a1: { forNodes: ['node-a'], forZones: ['zone-1'] }, a2: { forNodes: ['node-a'], forZones: ['zone-1'] }, b1: { forNodes: ['node-b'], forZones: ['zone-1'] } },
    from: 'podA1', expect: ['pod-a1', 'pod-a2'],
  },
  {
    // The EndpointSlice controller may hint an endpoint for another zone to balance load.
    name: 'PreferSameNode fallback: no endpoint hinted for node-b, so its zone hints decide',
    zones: SAME_ZONE,
    hints: { a1: { forNodes: ['node-a'], forZones: ['zone-1'] }, a2: { forNodes: ['node-a'], forZones: ['zone-2'] } },
    from: 'podB1', expect: ['pod-a1'],
  },
];

function source(cluster: Cluster, from: From): Host {
  return from === 'podA1' ? cluster.pods.a1 : from === 'podB1' ? cluster.pods.b1 : cluster.nodeA;
}

describe.each(BACKENDS)('topology hints: $name', (backend: BackendCase) => {
  const dp = useDataplane(backend);

  it.each(rows)('$name', async (row) => {
    await dp.apply([hinted('near', '10.96.0.40', row.hints)], row.zones);
    // 30 connections: a missing endpoint of two or three is seen with probability > 1 - 1e-5.
    const results = await tcpProbe(source(dp.cluster, row.from), '10.96.0.40', 80, { count: 30, timeoutMs: 3500 });
    expect(results.filter((r) => !r.ok)).toEqual([]);
    expect([...new Set(results.map((r) => (r.ok ? r.server : '')))].sort()).toEqual(row.expect);
  });
});
