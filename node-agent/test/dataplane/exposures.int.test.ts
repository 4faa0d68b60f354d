import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEcho, tally, tcpProbe, udpProbe } from '@natplan/e2e/netns';
import type { Host, NetnsProcess } from '@natplan/e2e/netns';
import type { Applier } from '../../src/applier/types.js';
import type { RenderInput } from '../../src/render/index.js';
import { BACKENDS } from './backends.js';
import type { BackendCase } from './backends.js';
import { ADDR, ADDR6, buildCluster } from './cluster.js';
import type { Cluster } from './cluster.js';
import { dualStack, exposure, nodePlan, service } from './plans.js';

// Finding 1 (traffic hijack), with real packets: a NatExposurePolicy named an outside
// host's address; afterwards pods and the node itself talking to that host were answered by
// the policy's pods. An exposure must only take traffic that arrives at the node for an
// address of the node. Here node-a's plan holds exposures of a Service on the outside host's
// address (as if a grant had allowed it, which the operator no longer does): the real host
// must still answer pods and the node, while the same kind of exposure on an address node-a
// holds keeps working.
//
// The outside host is gw (see cluster.ts) with 198.51.100.99 and 2001:db8::99 on its
// loopback, reached by the nodes through their default route and by pods through their
// node; it answers as "gw". 198.51.100.98 is a floating IP held by node-a.
const OUTSIDE = '198.51.100.99';
const OUTSIDE6 = '2001:db8::99';
const FLOATING = '198.51.100.98';
const TCP_PORT = 9980;
const UDP_PORT = 9953;
const PODS = ['pod-a1', 'pod-a2', 'pod-b1'];

function inputForNodeA(): RenderInput {
  const web = service('web', '10.96.0.10', ['a1', 'a2', 'b1'], (s) => dualStack(s, 'fd00:10:96::a'));
  const claim = (address: string, sourceRanges?: string[]) => [
    exposure('web', address, TCP_PORT, (x) => { if (sourceRanges) x.sourceRanges = sourceRanges; }),
    exposure('web', address, UDP_PORT, (x) => { x.protocol = 'UDP'; x.servicePort = 53; if (sourceRanges) x.sourceRanges = sourceRanges; }),
  ];
  return {
    node: nodePlan('node-a', (n) => {
      // The outside host's addresses, once with a client allow-list that pods are not in:
      // neither the DNAT nor the allow-list may touch traffic to another host.
      n.exposures = [...claim(OUTSIDE, ['203.0.113.0/24']), ...claim(OUTSIDE6), ...claim(FLOATING), ...claim(ADDR6.nodeA)];
    }),
    services: [web],
    identity: { nodeName: 'node-a', zone: 'zone-1' },
  };
}

describe.each(BACKENDS)('dataplane: an exposure never captures connections to another host ($name)', (backend: BackendCase) => {
  let cluster: Cluster;
  let applier: Applier<RenderInput>;
  let outsideHost: NetnsProcess | undefined;

  beforeAll(async () => {
    cluster = await buildCluster();
    await cluster.gw.ip('addr', 'add', `${OUTSIDE}/32`, 'dev', 'lo');
    await cluster.gw.ip('-6', 'addr', 'add', `${OUTSIDE6}/128`, 'dev', 'lo');
    // The client reaches the floating IP through node-a (its default route); node-a holds it.
    await cluster.nodeA.ip('addr', 'add', `${FLOATING}/32`, 'dev', 'lo');
    outsideHost = await startEcho(cluster.gw, { tcp: [TCP_PORT], udp: [UDP_PORT] });
    applier = backend.create(cluster.nodeA.exec);
    const result = await applier.apply(inputForNodeA());
    if (!result.ok) throw new Error(result.reason);
  });
  afterAll(async () => {
    outsideHost?.kill();
    await cluster?.destroy();
  });

  const who = (from: 'podA1' | 'nodeA'): Host => (from === 'podA1' ? cluster.pods.a1 : cluster.nodeA);

  it.each([
    ['a pod, TCP', 'podA1', OUTSIDE, 'tcp'],
    ['a pod, UDP (the exposure also has a client allow-list the pod is not in)', 'podA1', OUTSIDE, 'udp'],
    ['the node itself, TCP', 'nodeA', OUTSIDE, 'tcp'],
    ['the node itself, UDP', 'nodeA', OUTSIDE, 'udp'],
    ['a pod, IPv6 TCP', 'podA1', OUTSIDE6, 'tcp'],
    ['the node itself, IPv6 UDP', 'nodeA', OUTSIDE6, 'udp'],
  ] as const)('%s: the real outside host answers', async (_name, from, to, protocol) => {
    const options = { count: 5, timeoutMs: 3500 };
    const results = protocol === 'tcp' ? await tcpProbe(who(from), to, TCP_PORT, options) : await udpProbe(who(from), to, UDP_PORT, options);
    expect(tally(results)).toEqual({ gw: 5 });
  });

  it('the same exposures on an address node-a holds take the traffic to the Service', async () => {
    const tcp = await tcpProbe(cluster.client, FLOATING, TCP_PORT, { count: 30, bind: ADDR.client, timeoutMs: 3500 });
    expect(Object.keys(tally(tcp)).sort()).toEqual(PODS);
    const udp = await udpProbe(cluster.client, FLOATING, UDP_PORT, { count: 3, bind: ADDR.client, timeoutMs: 3500 });
    expect(udp.filter((r) => !r.ok)).toEqual([]);
    for (const r of udp) expect(PODS).toContain(r.ok ? r.server : '');
  });

  it('and a pod on node-a reaching the floating IP is served by the Service too', async () => {
    const results = await tcpProbe(cluster.pods.a1, FLOATING, TCP_PORT, { count: 10, timeoutMs: 3500 });
    expect(results.filter((r) => !r.ok)).toEqual([]);
    for (const r of results) expect(PODS).toContain(r.ok ? r.server : '');
  });

  it('an exposure on node-a\'s own IPv6 address reaches the Service (the IPv6 rules are live)', async () => {
    const results = await tcpProbe(cluster.client, ADDR6.nodeA, TCP_PORT, { count: 30, bind: ADDR6.client, timeoutMs: 3500 });
    expect(Object.keys(tally(results)).sort()).toEqual(PODS);
  });
});
