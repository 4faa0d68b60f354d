import { afterAll, beforeAll } from 'vitest';
import type { Applier } from '../../src/applier/types.js';
import type { RenderInput } from '../../src/render/index.js';
import type { BackendCase } from './backends.js';
import { buildCluster } from './cluster.js';
import type { Cluster } from './cluster.js';
import { nodePlan } from './plans.js';
import type { ServiceEntry } from './plans.js';

type NodeName = 'node-a' | 'node-b';

/** The zone each node reports; the cluster's default puts node-a in zone-1, node-b in zone-2. */
export type Zones = Record<NodeName, string>;
export const DEFAULT_ZONES: Zones = { 'node-a': 'zone-1', 'node-b': 'zone-2' };

/** A cluster (cluster.ts) with one applier per node, for the parity tests' `describe.each(BACKENDS)`. */
export interface Dataplane {
  readonly cluster: Cluster;
  /** Programs `services` on both nodes (each with its own zone), throwing on a failed sync. */
  apply(services: ServiceEntry[], zones?: Zones): Promise<void>;
}

/** Builds the cluster in beforeAll and destroys it (namespaces, processes) in afterAll. */
export function useDataplane(backend: BackendCase, prepare: (cluster: Cluster) => Promise<void> = async () => {}): Dataplane {
  let cluster: Cluster | undefined;
  let appliers: Record<NodeName, Applier<RenderInput>> | undefined;
  beforeAll(async () => {
    cluster = await buildCluster();
    appliers = { 'node-a': backend.create(cluster.nodeA.exec), 'node-b': backend.create(cluster.nodeB.exec) };
    await prepare(cluster);
  });
  afterAll(async () => { await cluster?.destroy(); });
  return {
    get cluster() {
      if (!cluster) throw new Error('the cluster is built in beforeAll');
      return cluster;
    },
    async apply(services, zones = DEFAULT_ZONES) {
      if (!appliers) throw new Error('the cluster is built in beforeAll');
      const input = (node: NodeName): RenderInput => ({
        node: nodePlan(node, (n) => { n.zone = zones[node]; }),
        services,
        identity: { nodeName: node, zone: zones[node] },
      });
      const results = await Promise.all([appliers['node-a'].apply(input('node-a')), appliers['node-b'].apply(input('node-b'))]);
      for (const r of results) if (!r.ok) throw new Error(r.reason);
    },
  };
}
