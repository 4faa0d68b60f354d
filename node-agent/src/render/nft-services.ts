/**
 * Per-Service objects: elements of the shared maps, and chains SHARED by every Service
 * port whose rules would be identical (their names say what they hold).
 *
 * Balancing without affinity: the frontend's verdict-map element (with the Service label
 * as its comment) goes to e.g. `svc-cluster-tcp-10` (the cluster-IP masquerade rule, then
 * `goto frontend-cluster-tcp-10`), whose one rule is `dnat ip to ip daddr . tcp dport .
 * numgen random mod 10 map @frontend-slots-tcp`; the endpoints are elements
 * `frontend . k -> endpoint` of that map (node ports use `nodeport-slots-*`, keyed by the
 * port alone, since any local address may receive them). So a Service adds elements
 * only, never rules: nft parses elements far faster than rules, and the kernel walks
 * every element of a data map each time a rule binds it (measured: 2,000 rules over one
 * 20k-element map, 1.1 s, nearly all system time), so the big maps must be bound by few
 * rules. Measured (nft 1.0.6, Linux 6.18, fresh netns), 10k Services x 10 endpoints:
 * rule-per-endpoint chains (~122k rules) 4.7 s; one chain per Service plus slot maps
 * (~22k rules) 2.3 s; shared chains (60 rules) 1.9 s, the rest being ~220k elements.
 * Per packet: one verdict-map lookup and one slot-map lookup, whatever the Service count.
 *
 * Per-Service anonymous `numgen ... vmap { }` maps are avoided: they load superlinearly
 * (5,000 Services 3.39 s vs 0.75 s). Hairpin masquerade is one lookup in the shared
 * `hairpin` set.
 *
 * Session affinity uses one named dynamic set (client address, with the Service's
 * timeout) and one chain per endpoint, for ClientIP Services only. nft 1.0.6 cannot look up a concatenation holding
 * a constant (`ip saddr . 10.0.0.1 @set` fails to parse), which rules out one shared
 * affinity set keyed by client . endpoint.
 */
import type { IPFamily } from './model.js';
import { FAMILIES } from './model.js';
import type { ExposureSpec, NodeContext, ServiceEntries, ServicePortNat } from './resolved-plan.js';
import type { ServicePlan } from './service-plan.js';
import { planService } from './service-plan.js';
import type { Balance, FamilyContext, FamilyFragment } from './fragment-builder.js';
import { FamilyBuilder, comment, settled } from './fragment-builder.js';
import { CHAIN, SET, localTrafficMatch } from './nft-skeleton.js';

/**
 * Everything one Service adds to the ruleset, rendered from the node context and its own
 * parts alone: the unit the element store adds, replaces and removes. A unit is a Service
 * key; exposures are rendered with the Service they target (they share its endpoint
 * lists), or alone, with no target, when that Service does not exist.
 */
export interface ServiceFragment {
  key: string;
  /** The Service's resolved plan, which the iptables renderer reads too (the store keeps it only for that). */
  plan: ServicePlan;
  /** A Service with a part 0 is programmed (counts.services). */
  present: boolean;
  problems: string[];
  /** `address|port` of the endpoints its ports send to, each once (an array: 100k Sets cost more than the store's counts). */
  endpoints: readonly string[];
  /** Exposures that found their target port. */
  exposures: number;
  families: Record<IPFamily, FamilyFragment>;
}

function masqueradeRuleForClusterIP(plan: FamilyContext, masqueradeAll: boolean): string[] {
  if (masqueradeAll) return [`jump ${CHAIN.markForMasquerade}`];
  // Without a local-traffic detector we cannot tell off-cluster clients apart; kube-proxy
  // then leaves cluster-IP traffic unmasqueraded too (only hairpin is masqueraded).
  const notLocal = localTrafficMatch(plan, true);
  return notLocal ? [`${notLocal} jump ${CHAIN.markForMasquerade}`] : [];
}

/**
 * Per-frontend-kind chains. With slot balancing their rules do not depend on the Service
 * (the endpoints are map elements), so they are shared, named after what they hold
 * (`svc-cluster-tcp-10`); with affinity they are per Service port (`svc-<id>`).
 */
function renderServicePort(b: FamilyBuilder, p: ServicePortNat, masqueradeAll: boolean, preservedByExposure: boolean, masqueradedByExposure: boolean): void {
  const fromPod = localTrafficMatch(b.plan, false);
  const owner = `Service port ${p.label ?? p.id}`;
  const hasExternal = p.nodePort !== undefined || p.externalIPs.length > 0 || p.loadBalancerIPs.length > 0;
  // Only the endpoint lists some frontend reaches are programmed (an internal-Local
  // Service without external frontends needs no Cluster list).
  const needsCluster = (p.clusterIP !== undefined && !p.internalLocal) || hasExternal || masqueradedByExposure;
  const cl = needsCluster ? b.balance('cl', p, p.clusterEndpoints) : undefined;
  const lo = p.internalLocal || p.externalLocal || preservedByExposure ? b.balance('lo', p, p.localEndpoints) : undefined;
  const note = (balance: Balance): string => (balance.shared ? '' : comment(p.label));
  const name = (kind: string, balances: (Balance | undefined)[]): string => {
    const shared = balances.filter((u) => u !== undefined).map((u) => u.shared);
    return shared.every((u) => u !== undefined) ? `${kind}-${shared.join('-')}` : `${kind}-${p.id}`;
  };

  if (p.clusterIP) {
    const target = p.internalLocal ? lo : cl;
    const chain = target && b.chain(name('svc', [target]), [...masqueradeRuleForClusterIP(b.plan, masqueradeAll), `${target.rule}${note(target)}`]);
    b.frontend(p.clusterIP, p, chain, p.hasAnyEndpoints, owner, [target], p.label);
  }

  if (!hasExternal) return;
  // The same rules for node ports and external addresses, except for the slot-map DNAT,
  // which is keyed by the node port alone (any local address may receive it).
  const external = (kind: string, go: (balance: Balance) => string): string | undefined => {
    if (!p.externalLocal && cl) {
      // Cluster policy: the reply must come back through this node, so masquerade.
      return b.chain(name(kind, [cl]), [`jump ${CHAIN.markForMasquerade}`, `${go(cl)}${note(cl)}`]);
    }
    if (!p.externalLocal || (!lo && !cl)) return undefined;
    const rules = [
      // Pods and processes of this node may use every endpoint (kube-proxy's short-circuit):
      // their traffic never left the node, so there is no client address to preserve.
      ...(cl && fromPod ? [`${fromPod} ${go(cl)}`] : []),
      `fib saddr type local jump ${CHAIN.markForMasquerade}`,
      ...(cl ? [`fib saddr type local ${go(cl)}`] : []),
    ];
    // Without a local endpoint only the short-circuit is left: what it does not take (an
    // external client) falls through untranslated, and the frontend's drop in the
    // endpoints check (after DNAT) discards it.
    if (!lo) return b.chain(name(`${kind}-shortcut`, [cl]), rules);
    return b.chain(name(kind, [cl, lo]), [...rules, `${go(lo)}${note(lo)}`]);
  };
  const used = p.externalLocal ? [cl, lo] : [cl];
  // A Local Service without a local endpoint: external clients are dropped.
  const dropUntranslated = p.externalLocal && !lo;
  const addresses = [...p.externalIPs, ...p.loadBalancerIPs];
  if (p.nodePort !== undefined) {
    const separate = used.some((u) => u?.nodePortRule !== undefined);
    b.nodePort(p, external(separate ? 'np' : 'ext', (u) => u.nodePortRule?.() ?? u.rule), used, dropUntranslated);
  }
  const chain = addresses.length ? external('ext', (u) => u.rule) : undefined;
  for (const address of addresses) b.frontend(address, p, chain, p.hasAnyEndpoints, owner, used, p.label, 'service', dropUntranslated);
  if (p.loadBalancerSourceRanges) for (const address of p.loadBalancerIPs) b.firewall(address, p, p.loadBalancerSourceRanges);
}

function renderExposure(b: FamilyBuilder, x: ExposureSpec, p: ServicePortNat | undefined): void {
  const owner = `exposure ${x.address}:${x.port}/${x.protocol}`;
  const balance = p && (x.preserveClientAddress ? b.balance('lo', p, p.localEndpoints) : b.balance('cl', p, p.clusterEndpoints));
  let target: string | undefined;
  if (p && balance) {
    const note = balance.shared ? '' : comment(p.label);
    const name = `${x.preserveClientAddress ? 'xl' : 'xm'}-${balance.shared ?? p.id}`;
    target = b.chain(name, [...(x.preserveClientAddress ? [] : [`jump ${CHAIN.markForMasquerade}`]), `${balance.rule}${note}`]);
  }
  b.frontend(x.address, x, target, p?.hasAnyEndpoints ?? false, owner, [balance], p?.label, 'exposure');
  if (x.sourceRanges) b.firewall(x.address, x, x.sourceRanges, 'exposure');
}

/** Renders the Service `key` (its input entries, possibly none) and the exposures targeting it. */
export function renderServiceFragment(context: NodeContext, key: string, entries: ServiceEntries): ServiceFragment {
  const plan = planService(entries, context.identity);
  const targeting = context.exposuresByService.get(key) ?? [];
  const target = (x: ExposureSpec): ServicePortNat | undefined => plan.ports.find((p) => p.family === x.family && p.protocol === x.protocol && p.port === x.servicePort);
  const families = {} as Record<IPFamily, FamilyFragment>;
  for (const family of FAMILIES) {
    const b = new FamilyBuilder(context.families[family], key);
    const exposures = targeting.filter((x) => x.family === family);
    const preserved = new Set(exposures.filter((x) => x.preserveClientAddress).map((x) => target(x)?.id));
    const masqueraded = new Set(exposures.filter((x) => !x.preserveClientAddress).map((x) => target(x)?.id));
    for (const p of plan.ports) {
      if (p.family !== family) continue;
      b.out.ports++;
      if (p.clusterIP) b.element(SET.clusterIps, p.clusterIP);
      renderServicePort(b, p, context.masqueradeAll, preserved.has(p.id), masqueraded.has(p.id));
    }
    for (const x of exposures) {
      b.rank = { phase: 1, unit: '', index: x.index };
      renderExposure(b, x, target(x));
    }
    families[family] = settled(b.out);
  }
  const endpoints = [...new Set(plan.ports.flatMap((p) => [...p.clusterEndpoints, ...p.localEndpoints].map((e) => `${e.address}|${e.port}`)))];
  return { key, plan, present: plan.present, problems: plan.problems, endpoints, exposures: targeting.filter((x) => target(x)).length, families };
}
