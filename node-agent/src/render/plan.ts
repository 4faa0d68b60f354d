/**
 * resolvePlan: the whole backend-neutral NAT plan of a node, assembled from its halves
 * (node-context.ts, service-plan.ts). The iptables renderer and the tests read it; the
 * nftables path renders Service by Service from the same halves (nft-services.ts), so the
 * two backends cannot disagree on semantics, only on syntax.
 */
import type { IPFamily } from './model.js';
import { byText, groupKey, resolveNode } from './node-context.js';
import type { ExposureNat, FamilyPlan, NatPlan, NodeContext, RenderInput, ServiceEntries, ServicePortNat } from './resolved-plan.js';
import type { ServicePlan } from './service-plan.js';
import { planService } from './service-plan.js';

export type * from './resolved-plan.js';
export { disjointCidrs } from './node-context.js';

/**
 * The input's Services grouped by groupKey, in key order: the order in which first-wins
 * conflicts between Services are decided, by every backend.
 */
export function groupServices(services: ServiceEntries): Map<string, ServiceEntries> {
  const groups = new Map<string, ServiceEntries>();
  for (const s of services) {
    const key = groupKey(s.namespace, s.spec.service.name);
    const group = groups.get(key);
    if (group) group.push(s);
    else groups.set(key, [s]);
  }
  const sorted = new Map<string, ServiceEntries>();
  for (const key of [...groups.keys()].sort()) sorted.set(key, groups.get(key) as ServiceEntries);
  return sorted;
}

/** Resolve the inputs into the backend-neutral plan. Pure; never throws on bad data. */
export function resolvePlan(input: RenderInput): NatPlan {
  const context = resolveNode(input);
  return assemblePlan(context, [...groupServices(input.services).values()].map((entries) => planService(entries, context.identity)));
}

/** The whole plan from its halves: the node context and each Service's plan, in key order. */
export function assemblePlan(context: NodeContext, plans: Iterable<ServicePlan>): NatPlan {
  const problems = [...context.problems];
  const servicePorts: ServicePortNat[] = [];
  let services = 0;
  for (const plan of plans) {
    problems.push(...plan.problems);
    if (plan.present) services++;
    servicePorts.push(...plan.ports);
  }
  const exposures: ExposureNat[] = context.exposures.map((x) => ({
    family: x.family, address: x.address, port: x.port, protocol: x.protocol, preserveClientAddress: x.preserveClientAddress, sourceRanges: x.sourceRanges,
    target: servicePorts.find((p) => p.family === x.family && p.protocol === x.protocol && p.port === x.servicePort && groupKey(p.owner.namespace, p.owner.name) === x.service),
  }));
  const endpoints = new Set(servicePorts.flatMap((p) => [...p.clusterEndpoints, ...p.localEndpoints].map((b) => `${b.address}|${b.port}`)));
  const family = (f: IPFamily): FamilyPlan => {
    const ports = servicePorts.filter((p) => p.family === f);
    const familyExposures = exposures.filter((x) => x.family === f);
    const base = context.families[f];
    return {
      ...base,
      active: ports.length > 0 || familyExposures.length > 0 || base.serviceCIDRs.length > 0,
      services: ports,
      exposures: familyExposures,
      clusterIPs: [...new Set(ports.flatMap((p) => (p.clusterIP ? [p.clusterIP] : [])))].sort(byText),
    };
  };
  return {
    families: { IPv4: family('IPv4'), IPv6: family('IPv6') },
    masqueradeAll: context.masqueradeAll,
    masqueradeMark: context.masqueradeMark,
    problems,
    counts: { services, endpoints: endpoints.size, exposures: exposures.filter((x) => x.target).length },
  };
}
