/**
 * Rendering with a memo (what the applier does on every sync) must give exactly what a
 * fresh render gives, whatever sequence of plan changes led there: same model, same
 * problems in the same order, same scripts.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { ServiceNatPlanSpec } from '../../../crds/generated/types.js';
import type { NftRuleset } from './nft-render.js';
import { newNftRenderMemo, renderNftables } from './nft-render.js';
import { nftFullSyncScript, nftIncrementalScript } from './nft-sync.js';
import type { RenderInput } from './plan.js';
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
  sets: [...table.sets.values()].map((set) => ({ definition: set.definition, size: set.elements.size, elements: [...set.elements] })),
}]));

function expectSame(memo: NftRuleset, fresh: NftRuleset): void {
  expect(memo.problems).toEqual(fresh.problems);
  expect(memo.counts).toEqual(fresh.counts);
  expect(memo.udp).toEqual(fresh.udp);
  // A memo render's big sets may be read-only overlays of the previous maps (not Map
  // instances of the same class), so they are compared through their entries.
  expect(plain(memo)).toEqual(plain(fresh));
  for (const table of Object.values(memo.tables)) {
    for (const set of table.sets.values()) for (const [key, value] of set.elements) expect([set.elements.get(key), set.elements.has(key)]).toEqual([value, true]);
  }
  // The script follows the models' iteration order, so this also pins the order.
  expect(nftFullSyncScript(memo)).toBe(nftFullSyncScript(fresh));
}

describe('rendering with a memo', () => {
  it('equals a fresh render after any sequence of plan changes', () => {
    fc.assert(fc.property(renderInput(6), fc.array(step, { maxLength: 12 }), fc.boolean(), (first, steps, exposures) => {
      const memo = newNftRenderMemo();
      // Without exposures the incremental script compares only the keys the memo touched.
      const withoutExposures = (input: RenderInput): RenderInput => (exposures ? input : { ...input, node: { ...input.node, exposures: [] } });
      let input = withoutExposures(first);
      let previous = { memo: renderNftables(input, memo), fresh: renderNftables(input) };
      expectSame(previous.memo, previous.fresh);
      for (const s of steps) {
        input = withoutExposures(apply(input, s));
        const next = { memo: renderNftables(input, memo), fresh: renderNftables(input) };
        expectSame(next.memo, next.fresh);
        expect(nftIncrementalScript(previous.memo, next.memo)).toBe(nftIncrementalScript(previous.fresh, next.fresh));
        previous = next;
      }
    }), { numRuns: 200 });
  }, 60_000);

  it('equals a fresh render through small overlays and large merged changes', () => {
    // 400 Services with 2 endpoints each: changing one keeps an overlay of the previous
    // sets; changing all of them outgrows it and merges a new plain map.
    const services = (shift: number, changed: (i: number) => boolean) => Array.from({ length: 400 }, (_, i) => makeServicePlan('ns1', `svc${i}`, (spec) => {
      spec.clusterIPs = [`10.96.${i >> 8}.${i & 255}`];
      spec.endpoints = [0, 1].map((k) => makeEndpoint(`10.244.${2 + ((i * 2 + k + (changed(i) ? shift : 0)) >> 8)}.${(i * 2 + k + (changed(i) ? shift : 0)) & 255}`));
    }));
    const memo = newNftRenderMemo();
    let previous = { memo: renderNftables(makeInput(services(0, () => false)), memo), fresh: renderNftables(makeInput(services(0, () => false))) };
    for (const [shift, changed] of [[1, (i: number) => i === 7], [3, () => true], [5, (i: number) => i % 2 === 0], [0, () => true]] as const) {
      const input = makeInput(services(shift, changed));
      const next = { memo: renderNftables(input, memo), fresh: renderNftables(input) };
      expectSame(next.memo, next.fresh);
      expect(nftIncrementalScript(previous.memo, next.memo)).toBe(nftIncrementalScript(previous.fresh, next.fresh));
      previous = next;
    }
  });
});
