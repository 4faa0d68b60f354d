/**
 * The agent against a failing API server: it reaches the real API server through
 * e2e/control-plane's fault proxy, which resets its connections, cuts answers and watch
 * streams short (RST and FIN), refuses new connections, delays, and swallows requests,
 * while the test keeps changing the plans (directly, not through the proxy). Then the
 * faults stop, and the agent must be alive, with no unhandled rejection or exception,
 * and converge: the rules in its namespace hold the current plans, and its NodeNatPlan
 * status reports the current generation Ready. Addresses: see harness.ts.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { trapUnhandled } from '@natplan/controller-kit/testing';
import type { NodeNatPlan, ServiceNatPlan } from '@natplan/api';
import { FaultProxy, healableFaults, waitFor, type Fault } from '@natplan/e2e/control-plane';
import type { RunningAgent } from '../src/shell/agent.js';
import { nodePlanFor, startAgentHarness, type AgentHarness } from './harness.js';

let h: AgentHarness;
let proxy: FaultProxy;
let agent: RunningAgent | undefined;
let unhandled: ReturnType<typeof trapUnhandled>;

function servicePlan(address: string): ServiceNatPlan {
  return {
    apiVersion: 'natplan.io/v1alpha1', kind: 'ServiceNatPlan', metadata: { name: 'web', namespace: 'default' },
    spec: {
      service: { name: 'web' }, part: 0, ipFamilies: ['IPv4'], clusterIPs: ['10.96.0.10'],
      ports: [{ name: 'http', protocol: 'TCP', port: 80, nodePort: 30080 }],
      sessionAffinity: { type: 'None' }, externalTrafficPolicy: 'Cluster', internalTrafficPolicy: 'Cluster', endpointCount: 1,
      endpoints: [{ address, nodeName: 'node-a', ready: true, serving: true, terminating: false, ports: [{ name: 'http', port: 8080 }], forCluster: true, forLocal: true }],
      triggerTime: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
    },
  };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const rules = async () => (await h.node.run(['nft', 'list', 'ruleset'])).stdout;

/**
 * Changes the plans once more (directly) and waits until the agent enforces them: the
 * endpoint `address` in its namespace's rules and no trace of the `stale` one (its last
 * octet), and the new NodeNatPlan generation (zone `zone`) reported Ready.
 */
async function converged(address: string, zone: string, stale: number): Promise<void> {
  await h.api.apply(servicePlan(address));
  const nodePlan = await h.api.apply({ ...nodePlanFor(), spec: { ...nodePlanFor().spec, zone } }) as NodeNatPlan;
  const generation = nodePlan.metadata?.generation;
  await waitFor(`${address} in the kernel`, async () => {
    const text = await rules();
    return text.includes(address) && !new RegExp(`10\\.244\\.1\\.${stale}(?![0-9])`).test(text) ? true : undefined;
  }, 90_000, 500);
  await waitFor(`generation ${generation} reported Ready`, async () => {
    const status = (await h.nodeStatus())?.status;
    const ready = status?.conditions?.find((c: { type: string }) => c.type === 'Ready');
    return status?.observedGeneration === generation && ready?.status === 'True' ? true : undefined;
  }, 60_000, 500);
}

beforeAll(async () => {
  unhandled = trapUnhandled();
  h = await startAgentHarness();
  proxy = await FaultProxy.start(h.cp.server);
  // 5 s instead of 30 s: the blackhole below lasts until the agent's own timeouts end it.
  const access = proxy.adminAccess(h.cp.certificates, { requestMs: 5000 });
  await h.api.create(servicePlan('10.244.1.5'));
  agent = await h.runAgent(['--min-sync-period=100ms', '--status-period=2s', '--kernel-check-period=1h'], undefined, access);
}, 180_000);

afterAll(async () => {
  await agent?.stop();
  await proxy?.stop();
  await h?.stop();
  unhandled?.release();
});

describe('node agent with a failing API server', () => {
  it('survives resets, cut streams, refusals, delays and silence, and converges to the current plans after each', async () => {
    await waitFor('the first sync reported Ready', async () => {
      const status = (await h.nodeStatus())?.status;
      return status?.conditions?.some((c: { type: string; status: string }) => c.type === 'Ready' && c.status === 'True') ? true : undefined;
    }, 30_000);
    expect(await rules()).toContain('10.244.1.5');

    // Each fault holds for a while; meanwhile the plans change, so the agent must list,
    // watch and write its status again and again through it.
    const faults = healableFaults(proxy);
    let n = 6;
    for (const [what, start] of faults) {
      console.log(new Date().toISOString(), 'fault:', what);
      start();
      await h.api.apply(servicePlan(`10.244.1.${n++}`));
      await sleep(1500);
      await h.api.apply({ ...nodePlanFor(), spec: { ...nodePlanFor().spec, zone: `zone-${n}` } });
      await sleep(1500);
      proxy.heal();
    }
    expect(proxy.stats.resets).toBeGreaterThan(0);
    expect(proxy.stats.ends).toBeGreaterThan(0);
    expect(proxy.stats.refused).toBeGreaterThan(0);
    console.log(new Date().toISOString(), 'healed');
    await converged('10.244.1.98', 'zone-healed', n - 1);

    // Connections that never answer (a hung server, a peer gone without a reset), taken
    // by the lists and watches the agent opens after its healthy ones are reset, and
    // left as they are after the heal: only the agent's own timeouts end them.
    proxy.inject({ kind: 'blackhole' } satisfies Fault);
    proxy.resetAll();
    await h.api.apply(servicePlan('10.244.1.97'));
    await sleep(3000);
    proxy.heal();
    console.log(new Date().toISOString(), 'healed from the blackhole');
    expect(proxy.stats.swallowed).toBeGreaterThan(0);
    await converged('10.244.1.99', 'zone-final', 97);
    expect(await agent!.syncNow()).toBe(true);
    expect(unhandled.errors).toEqual([]);
  }, 240_000);
});
