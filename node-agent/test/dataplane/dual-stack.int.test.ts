import { describe, expect, it } from 'vitest';
import { tcpProbe, udpProbe } from '@natplan/e2e/netns';
import type { Host, ProbeResult } from '@natplan/e2e/netns';
import { BACKENDS } from './backends.js';
import type { BackendCase } from './backends.js';
import { ADDR, ADDR6 } from './cluster.js';
import type { Cluster } from './cluster.js';
import { useDataplane } from './parity-harness.js';
import { endpoint, service } from './plans.js';

// A dual-stack Service with real packets: one cluster IP and one node port per family,
// each family balanced over its own endpoints only. The families get different endpoint
// sets on purpose (IPv4: pod-a1 and pod-b1, IPv6: pod-a2), so a family that borrowed the
// other's list, or was not programmed at all, fails here. Addresses: cluster.ts.

const dual = () => service('dual', '10.96.0.30', ['a1', 'b1'], (s) => {
  s.ipFamilies = ['IPv4', 'IPv6'];
  s.clusterIPs = ['10.96.0.30', 'fd00:10:96::30'];
  s.ports = [{ name: 'tcp', protocol: 'TCP', port: 80, nodePort: 30030 }, { name: 'udp', protocol: 'UDP', port: 53 }];
  s.endpoints = [...(s.endpoints ?? []), endpoint('a2', () => {}, 'IPv6')];
  s.endpointCount = s.endpoints.length;
});

const V4 = ['pod-a1', 'pod-b1'];
const V6 = ['pod-a2'];

type From = 'podB1' | 'nodeA' | 'client' | 'client6';
interface Row { name: string; from: From; to: string; port: number; udp?: true; expect: string[] }

const rows: Row[] = [
  { name: 'IPv4 cluster IP from a pod reaches the IPv4 endpoints', from: 'podB1', to: '10.96.0.30', port: 80, expect: V4 },
  { name: 'IPv6 cluster IP from a pod reaches the IPv6 endpoint', from: 'podB1', to: 'fd00:10:96::30', port: 80, expect: V6 },
  { name: 'IPv4 cluster IP from a node (output path)', from: 'nodeA', to: '10.96.0.30', port: 80, expect: V4 },
  { name: 'IPv6 cluster IP from a node (output path)', from: 'nodeA', to: 'fd00:10:96::30', port: 80, expect: V6 },
  { name: 'IPv4 node port from the outside client', from: 'client', to: ADDR.nodeA, port: 30030, expect: V4 },
  { name: 'IPv6 node port from the outside client', from: 'client6', to: ADDR6.nodeA, port: 30030, expect: V6 },
  { name: 'IPv4 cluster IP over UDP', from: 'podB1', to: '10.96.0.30', port: 53, udp: true, expect: V4 },
  { name: 'IPv6 cluster IP over UDP', from: 'podB1', to: 'fd00:10:96::30', port: 53, udp: true, expect: V6 },
];

function source(cluster: Cluster, from: From): { host: Host; bind?: string } {
  switch (from) {
    case 'podB1': return { host: cluster.pods.b1 };
    case 'nodeA': return { host: cluster.nodeA };
    case 'client': return { host: cluster.client, bind: ADDR.client };
    case 'client6': return { host: cluster.client, bind: ADDR6.client };
  }
}

describe.each(BACKENDS)('dual-stack Service: $name', (backend: BackendCase) => {
  const dp = useDataplane(backend);

  it.each(rows)('$name', async (row) => {
    await dp.apply([dual()]);
    const { host, bind } = source(dp.cluster, row.from);
    const options = { count: row.udp ? 3 : 20, timeoutMs: 3500, ...(bind ? { bind } : {}) };
    const results: ProbeResult[] = row.udp ? await udpProbe(host, row.to, row.port, options) : await tcpProbe(host, row.to, row.port, options);
    expect(results.filter((r) => !r.ok)).toEqual([]);
    const servers = [...new Set(results.map((r) => (r.ok ? r.server : '')))].sort();
    // One UDP socket is one flow: it stays on one endpoint, which must be of the right family.
    if (row.udp) expect(servers).toHaveLength(1);
    else expect(servers).toEqual(row.expect);
    for (const server of servers) expect(row.expect).toContain(server);
    // The endpoint saw a client address of the Service's family: the packet stayed IPv4 or IPv6.
    const ipv6 = row.to.includes(':');
    for (const r of results) if (r.ok) expect(r.seen.includes(':'), r.seen).toBe(ipv6);
  });
});
