/**
 * renderNftables: the desired state of both natplan tables as plain data. Scripts are
 * derived from it in nft-sync.ts; the tracer reads it in nft-trace.ts.
 */
import type { ChainState, IpFamily, SetState, TableState } from './model.js';
import { FAMILIES } from './model.js';
import type { RenderInput } from './plan.js';
import type { PlanMemo } from './plan.js';
import { newPlanMemo, resolvePlan } from './plan.js';
import { skeletonChains, skeletonSets } from './nft-skeleton.js';
import type { Derivation } from './derivation.js';
import { SERVICE_SETS, recordDerivation } from './derivation.js';
import { OverlayMap } from './overlay-map.js';
import type { ServicesMemo, UdpFacts } from './nft-services.js';
import { newServicesMemo, renderFamilyServices } from './nft-services.js';

export interface RulesetCounts { services: number; endpoints: number; exposures: number }

/** The complete desired nftables state. Treat as immutable. */
export interface NftRuleset {
  tables: Record<IpFamily, TableState>;
  /**
   * Parts of the input that were invalid or conflicting and were left out, one sentence
   * each. The rest is rendered; a non-empty list is worth a `Degraded`-style report.
   */
  problems: string[];
  counts: RulesetCounts;
  /** Facts for stale-UDP-conntrack cleanup (see stale-udp.ts). */
  udp: UdpFacts;
}

const byName = <T extends { name: string }>(a: T, b: T): number => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);

/**
 * What renderNftables may keep from one call to the next (opaque; one per caller that
 * renders successive versions of the same plans, e.g. one applier). Rendering with a
 * memo gives exactly the ruleset rendering without one gives; it reuses the work done
 * for Services whose part specs are the same objects as in the previous call.
 */
export interface NftRenderMemo {
  readonly plan: PlanMemo;
  readonly services: Record<IpFamily, ServicesMemo>;
  /** The ruleset the previous render returned; the services memos' `last` describe it. */
  last: NftRuleset | undefined;
}

export function newNftRenderMemo(): NftRenderMemo {
  return { plan: newPlanMemo(), services: { ip: newServicesMemo(), ip6: newServicesMemo() }, last: undefined };
}

export function renderNftables(input: RenderInput, memo?: NftRenderMemo): NftRuleset {
  if (!memo) return render(input, undefined);
  try {
    return render(input, memo);
  } catch (error) {
    // Half-updated: forget what the last render was (the per-Service caches stay valid).
    memo.last = undefined;
    for (const family of FAMILIES) memo.services[family].last = undefined;
    throw error;
  }
}

function render(input: RenderInput, memo: NftRenderMemo | undefined): NftRuleset {
  const plan = resolvePlan(input, memo?.plan);
  const problems = [...plan.problems];
  const udp: UdpFacts = { endpoints: new Set(), frontends: new Map(), paths: new Set() };
  const tables = {} as Record<IpFamily, TableState>;
  const touched: Partial<Derivation['touched']> = {};
  for (const family of FAMILIES) {
    const familyPlan = plan.families[family];
    const dynamic = renderFamilyServices(familyPlan, plan.masqueradeAll, memo?.services[family]);
    problems.push(...dynamic.problems);
    if (dynamic.touched && [...dynamic.touched.keys()].every((name) => SERVICE_SETS.has(name))) touched[family] = dynamic.touched;
    for (const e of dynamic.udp.endpoints) udp.endpoints.add(e);
    for (const [k, v] of dynamic.udp.frontends) udp.frontends.set(k, v);
    for (const path of dynamic.udp.paths) udp.paths.add(path);

    const sets = new Map<string, SetState>();
    for (const s of [...skeletonSets(familyPlan), ...[...dynamic.sets].sort((a, b) => byName(a.definition, b.definition))]) {
      sets.set(s.definition.name, s);
    }
    if (dynamic.partial) {
      const base = memo?.last?.tables[family];
      if (!base || !dynamic.touched) throw new Error('natplan renderer bug: a partial render without the previous one');
      for (const name of SERVICE_SETS) {
        const set = sets.get(name);
        const previous = base.sets.get(name);
        if (!set || !previous) throw new Error(`natplan renderer bug: no set ${name}`);
        const keys = dynamic.touched.get(name);
        // Unchanged elements share the previous render's map (rulesets are immutable).
        sets.set(name, { definition: set.definition, elements: keys?.size ? patched(previous.elements, keys, dynamic.elements.get(name)) : previous.elements });
      }
      for (const name of dynamic.elements.keys()) if (!SERVICE_SETS.has(name)) throw new Error(`natplan renderer bug: elements for ${name}`);
    } else {
      for (const [name, elements] of dynamic.elements) {
        const set = sets.get(name);
        for (const key of [...elements.keys()].sort()) set?.elements.set(key, elements.get(key) ?? '');
      }
    }
    const chains = new Map<string, ChainState>();
    for (const c of [...skeletonChains(familyPlan, plan.masqueradeMark), ...[...dynamic.chains].sort(byName)]) chains.set(c.name, c);
    tables[family] = { family, chains, sets };
  }
  const ruleset: NftRuleset = { tables, problems, counts: plan.counts, udp };
  if (memo) {
    if (memo.last && touched.ip && touched.ip6) recordDerivation(ruleset, { base: new WeakRef(memo.last), touched: { ip: touched.ip, ip6: touched.ip6 } });
    memo.last = ruleset;
  }
  return ruleset;
}

/**
 * `previous` (in key order) with the `keys` replaced by their `values` (absent: removed),
 * in key order: the map a full render would build. Small changes give an OverlayMap over
 * the same base (no copy of the set); once the overlay grows past 1/16 of the base it is
 * merged into a new plain map, so the copies cost O(1) per changed element amortised.
 */
function patched(previous: Map<string, string>, keys: Set<string>, values: Map<string, string> | undefined): Map<string, string> {
  const base = previous instanceof OverlayMap ? previous.base : previous;
  const overlay = new Map<string, string | null>(previous instanceof OverlayMap ? previous.overlay : []);
  for (const key of keys) {
    const value = values?.get(key);
    if (value === undefined) {
      if (base.has(key)) overlay.set(key, null);
      else overlay.delete(key);
    } else if (base.get(key) === value) overlay.delete(key);
    else overlay.set(key, value);
  }
  if (!overlay.size && base instanceof Map) return base;
  if (overlay.size <= Math.max(256, base.size / 16)) return new OverlayMap(base, overlay);
  const out = new Map<string, string>();
  for (const [key, value] of new OverlayMap(base, overlay)) out.set(key, value);
  return out;
}

export function rulesetCounts(ruleset: NftRuleset): RulesetCounts {
  return { ...ruleset.counts };
}
