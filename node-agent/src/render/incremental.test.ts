/**
 * The element store (what the applier keeps across syncs) must hold exactly what a fresh
 * render gives, whatever sequence of plan changes led there: same model, same problems in
 * the same order, same digest. Its journal must give the same delta, script, leftovers
 * and stale UDP flows as comparing the last committed fresh ruleset with the new one,
 * also when some updates were never committed (a failed apply).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { ServiceNatPlanSpec } from '@natplan/api';
import { RulesetStore } from './element-store.js';
import type { NftRuleset } from './nft-render.js';
import { renderNftables, storeRuleset } from './nft-render.js';
import { nftDeltaScript, nftFullSyncScript } from './nft-sync.js';
import type { RenderInput } from './plan.js';
import { resolvePlan } from './plan.js';
import { diffTables } from './ruleset-delta.js';
import { rulesetDigest } from './nft-sync.js';
import { staleUdpEndpoints } from './stale-udp.js';
import { renderInput, serviceSpec } from './testing/arbitraries.js';
import { makeEndpoint, makeInput, makeServicePlan } from './testing/builders.js';

type Step =
  | { kind: 'replace'; index: number; spec: ServiceNatPlanSpec; clash: boolean }
  | { kind: 'add'; spec: ServiceNatPlanSpec; clash: boolean }
  | { kind: 'remove'; index: number }
  | { kind: 'part'; index: number; part: number; spec: ServiceNatPlanSpec }
  | { kind: 'node'; input: RenderInput }
  | { kind: 'same' };

const NAMES = ['svc0', 'svc1', 'svc2', 'svc3', 'svc4', 'svc5', 'svc6', 'svc7'];
const named = fc.constantFrom(...NAMES).chain((name) => serviceSpec(name));
const step: fc.Arbitrary<Step> = fc.oneof(
  fc.record({ kind: fc.constant('replace' as const), index: fc.nat(), spec: named, clash: fc.boolean() }),
  fc.record({ kind: fc.constant('add' as const), spec: named, clash: fc.boolean() }),
  fc.record({ kind: fc.constant('remove' as const), index: fc.nat() }),
  fc.record({ kind: fc.constant('part' as const), index: fc.nat(), part: fc.integer({ min: 0, max: 2 }), spec: named }),
  fc.record({ kind: fc.constant('node' as const), input: renderInput(0) }),
  fc.constant({ kind: 'same' as const }),
);

/** A clash moves the Service onto a shared cluster IP and node port, so frontends conflict. */
const clashing = (spec: ServiceNatPlanSpec, clash: boolean): ServiceNatPlanSpec => (clash
  ? { ...spec, clusterIPs: ['10.96.0.1'], ports: (spec.ports ?? []).map((p, i) => (i === 0 ? { ...p, protocol: 'TCP', port: 80, nodePort: 30080 } : p)) }
  : spec);

function apply(input: RenderInput, s: Step): RenderInput {
  const services = [...input.services];
  const at = (index: number): number => index % Math.max(1, services.length);
  switch (s.kind) {
    case 'replace': {
      const old = services[at(s.index)];
      // A changed spec is a new object with the same Service name (as the informer does).
      if (old) services[at(s.index)] = { ...old, spec: { ...clashing(s.spec, s.clash), service: old.spec.service, part: old.spec.part } };
      break;
    }
    case 'add': services.push({ namespace: 'ns1', name: `${s.spec.service.name}-${services.length}`, spec: clashing(s.spec, s.clash) }); break;
    case 'remove': services.splice(at(s.index), 1); break;
    case 'part': {
      const old = services[at(s.index)];
      if (old) services.push({ namespace: old.namespace, name: `${old.name}-p${s.part}-${services.length}`, spec: { ...s.spec, service: old.spec.service, part: s.part } });
      break;
    }
    case 'node': return { ...s.input, services };
    case 'same': break;
  }
  return { ...input, services };
}

/** The tables with each set's elements as an entry list: same content in the same order. */
const plain = (ruleset: NftRuleset): unknown => Object.fromEntries(Object.entries(ruleset.tables).map(([family, table]) => [family, {
  chains: [...table.chains.values()],
  sets: [...table.sets.values()].map((set) => ({ definition: set.definition, elements: [...set.elements] })),
}]));

/** A delta as plain sorted data, so two deltas compare whatever their map order. */
const plainDelta = (delta: ReturnType<typeof diffTables>): unknown => Object.fromEntries(Object.entries(delta).map(([family, d]) => [family, {
  chains: [...d.chains].sort(([a], [b]) => (a < b ? -1 : 1)),
  sets: [...d.sets].sort(([a], [b]) => (a < b ? -1 : 1)),
  elements: [...d.elements].sort(([a], [b]) => (a < b ? -1 : 1)).map(([set, m]) => [set, [...m].sort(([a], [b]) => (a < b ? -1 : 1))]),
}]));

function expectSame(stored: NftRuleset, fresh: NftRuleset): void {
  expect(stored.problems).toEqual(fresh.problems);
  expect(stored.counts).toEqual(fresh.counts);
  expect(stored.udp).toEqual(fresh.udp);
  expect(plain(stored)).toEqual(plain(fresh));
  // The script follows the models' iteration order, so this also pins the order.
  expect(nftFullSyncScript(stored)).toBe(nftFullSyncScript(fresh));
}

/** One sync through the store, checked against fresh renders; `commit`: the apply succeeded. */
function syncAndCheck(store: RulesetStore, input: RenderInput, committed: NftRuleset | undefined, commit: boolean): NftRuleset | undefined {
  const state = store.update(input);
  const fresh = renderNftables(input);
  expectSame(storeRuleset(store, state), fresh);
  expect(state.digest).toBe(rulesetDigest(fresh));
  // The plan the iptables renderer reads, assembled from the kept Service plans (kept on request only).
  if (store.keepsPlans) expect(store.plan()).toEqual(resolvePlan(input));
  else expect(() => store.plan()).toThrow(/keeps no plans/);
  if (committed) {
    const compared = diffTables(committed.tables, fresh.tables);
    const leftovers = store.leftovers();
    for (const family of ['IPv4', 'IPv6'] as const) {
      expect(leftovers[family].chains.sort()).toEqual([...committed.tables[family].chains.keys()].filter((c) => !fresh.tables[family].chains.has(c)).sort());
    }
    expect(store.staleUdp()).toEqual(staleUdpEndpoints(committed, fresh));
    if (!state.needsFull) {
      expect(plainDelta(store.delta())).toEqual(plainDelta(compared));
      expect(nftDeltaScript(store.live, store.delta())).toEqual(nftDeltaScript(fresh.tables, compared));
    }
  }
  if (!commit) return committed;
  store.committed();
  return fresh;
}

describe('the element store', () => {
  it('equals a fresh render after any sequence of plan changes, committed or not', () => {
    fc.assert(fc.property(renderInput(6), fc.array(fc.tuple(step, fc.boolean()), { maxLength: 12 }), fc.boolean(), fc.boolean(), (first, steps, exposures, keepPlans) => {
      const store = new RulesetStore({ keepPlans });
      const withoutExposures = (input: RenderInput): RenderInput => (exposures ? input : { ...input, node: { ...input.node, exposures: [] } });
      let input = withoutExposures(first);
      let committed = syncAndCheck(store, input, undefined, true);
      for (const [s, commit] of steps) {
        input = withoutExposures(apply(input, s));
        committed = syncAndCheck(store, input, committed, commit || s.kind === 'same');
      }
    }), { numRuns: 200 });
  }, 120_000);

  it('re-renders only the Services whose entries changed', () => {
    const services = (shift: number, changed: (i: number) => boolean) => Array.from({ length: 400 }, (_, i) => makeServicePlan('ns1', `svc${i}`, (spec) => {
      spec.clusterIPs = [`10.96.${i >> 8}.${i & 255}`];
      spec.endpoints = [0, 1].map((k) => makeEndpoint(`10.244.${2 + ((i * 2 + k + (changed(i) ? shift : 0)) >> 8)}.${(i * 2 + k + (changed(i) ? shift : 0)) & 255}`));
    }));
    const store = new RulesetStore({ keepPlans: true });
    const initial = makeInput(services(0, () => false));
    let committed = syncAndCheck(store, initial, undefined, true);
    for (const [shift, changed] of [[1, (i: number) => i === 7], [3, () => true], [5, (i: number) => i % 2 === 0], [0, () => true]] as const) {
      const input = makeInput(services(shift, changed));
      // Unchanged Services keep their entry objects, as the agent's desired state does.
      const kept = { ...input, services: input.services.map((s, i) => (changed(i) ? s : initial.services[i] ?? s)) };
      committed = syncAndCheck(store, kept, committed, true);
    }
    // One changed entry: its delta touches only that Service's objects.
    const one = { ...initial, services: initial.services.map((s, i) => (i === 9 ? { ...s, spec: { ...s.spec, endpoints: [makeEndpoint('10.244.9.9')] } } : s)) };
    store.update(initial);
    store.committed();
    store.update(one);
    const changedKeys = [...store.delta().IPv4.elements.values()].reduce((n, m) => n + m.size, 0);
    expect(changedKeys).toBeGreaterThan(0);
    expect(changedKeys).toBeLessThan(12);
  });
});
