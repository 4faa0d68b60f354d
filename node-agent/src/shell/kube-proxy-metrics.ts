/**
 * kube-proxy's own metric names, next to the natplan_ ones, so dashboards and alerts
 * written for kube-proxy work unchanged: `kubeproxy_sync_proxy_rules_duration_seconds`,
 * `..._last_timestamp_seconds`, `kubeproxy_network_programming_duration_seconds` and the
 * Service/endpoint change counters, with kube-proxy's types, buckets and `ip_family` label
 * (names and labels as in kubernetes v1.34 pkg/proxy/metrics).
 *
 * kube-proxy runs one proxier per IP family, each observing its own syncs; one natplan
 * sync programs every family at once, so it is observed once per family the node serves.
 */
import type { Counter, Gauge, Histogram } from 'prom-client';
import { Metrics } from '@natplan/controller-kit';
import type { ServiceNatPlan } from '@natplan/api';
import type { IPFamily } from '@natplan/netaddr';
import type { RenderInput } from '../render/index.js';


/** kube-proxy's buckets for sync latency: 1 ms doubling 15 times. */
export const SYNC_BUCKETS = Array.from({ length: 15 }, (_, i) => 0.001 * 2 ** i);
/** kube-proxy's buckets for programming latency: 0.25 s, 0.5 s, 1..59 s, 60..115 s by 5, 120..300 s by 30. */
export const PROGRAMMING_BUCKETS = [
  0.25, 0.5,
  ...Array.from({ length: 59 }, (_, i) => 1 + i),
  ...Array.from({ length: 12 }, (_, i) => 60 + 5 * i),
  ...Array.from({ length: 7 }, (_, i) => 120 + 30 * i),
];

/** The IP families a sync of this input programs: those of the node's pod CIDRs and of its Services. */
export function familiesOf(input: RenderInput): IPFamily[] {
  const families = new Set<IPFamily>();
  for (const cidr of input.node.podCIDRs ?? []) families.add(cidr.includes(':') ? 'IPv6' : 'IPv4');
  for (const { spec } of input.services) for (const f of spec.ipFamilies ?? []) families.add(f);
  return families.size === 0 ? ['IPv4'] : [...families].sort();
}

/** A histogram or gauge kept under both names; the kube-proxy one gets one sample per family. */
export interface Observer { observe(value: number): void }
export interface Setter { set(value: number): void }

export class KubeProxyMetrics {
  families: IPFamily[] = ['IPv4'];
  private readonly kube: Metrics;

  constructor(registry: Metrics['registry']) {
    this.kube = new Metrics({ prefix: 'kubeproxy_', registry });
  }

  /** Observes into `natplan` and into kube-proxy's histogram of the same name, per family. */
  histogram(natplan: Histogram, name: string, help: string, buckets: number[]): Observer {
    const kube = this.kube.histogram(name, help, ['ip_family'], buckets);
    return { observe: (v) => { natplan.observe(v); for (const ip_family of this.families) kube.observe({ ip_family }, v); } };
  }

  gauge(natplan: Gauge, name: string, help: string): Setter {
    const kube = this.kube.gauge(name, help, ['ip_family']);
    return { set: (v) => { natplan.set(v); for (const ip_family of this.families) kube.set({ ip_family }, v); } };
  }

  /** kube-proxy's change counters: unlabelled, like kube-proxy's. */
  changes(natplan: Metrics): PlanChanges {
    const pair = <M>(make: (m: Metrics) => M) => [make(natplan), make(this.kube)] as const;
    return new PlanChanges({
      endpointsPending: pair((m) => m.gauge('sync_proxy_rules_endpoint_changes_pending', 'Pending proxy rules Endpoint changes')),
      endpointsTotal: pair((m) => m.counter('sync_proxy_rules_endpoint_changes_total', 'Cumulative proxy rules Endpoint changes')),
      servicesPending: pair((m) => m.gauge('sync_proxy_rules_service_changes_pending', 'Pending proxy rules Service changes')),
      servicesTotal: pair((m) => m.counter('sync_proxy_rules_service_changes_total', 'Cumulative proxy rules Service changes')),
    });
  }
}

interface ChangeMetrics {
  endpointsPending: readonly [Gauge, Gauge];
  endpointsTotal: readonly [Counter, Counter];
  servicesPending: readonly [Gauge, Gauge];
  servicesTotal: readonly [Counter, Counter];
}

/**
 * Which Services have changes not yet synced, split like kube-proxy's trackers: a change
 * of a plan's endpoints is an endpoint change, any other change of its spec a Service
 * change. Pending counts Services (all parts of one Service are one), as kube-proxy does.
 */
export class PlanChanges {
  /** Service key -> sequence number of its latest unsynced change. */
  private readonly endpoints = new Map<string, number>();
  private readonly services = new Map<string, number>();
  private seq = 0;

  constructor(private readonly m: ChangeMetrics) {}

  /** An informer event: add (no old), update, or delete (no new). */
  record(old: ServiceNatPlan | undefined, updated: ServiceNatPlan | undefined): void {
    const plan = updated ?? old;
    if (!plan) return;
    const key = `${plan.metadata?.namespace}/${plan.spec.service.name}`;
    const seq = ++this.seq;
    if (endpointsOf(old) !== endpointsOf(updated)) {
      this.endpoints.set(key, seq);
      for (const c of this.m.endpointsTotal) c.inc();
    }
    if (serviceOf(old) !== serviceOf(updated)) {
      this.services.set(key, seq);
      for (const c of this.m.servicesTotal) c.inc();
    }
    this.publish();
  }

  /** Taken when a sync reads the plans; changes recorded after it stay pending. */
  mark(): number {
    return this.seq;
  }

  /** The sync that started at `mark` succeeded: what it read is no longer pending. */
  synced(mark: number): void {
    for (const pending of [this.endpoints, this.services]) {
      for (const [key, seq] of pending) if (seq <= mark) pending.delete(key);
    }
    this.publish();
  }

  private publish(): void {
    for (const g of this.m.endpointsPending) g.set(this.endpoints.size);
    for (const g of this.m.servicesPending) g.set(this.services.size);
  }
}

function endpointsOf(plan: ServiceNatPlan | undefined): string {
  return JSON.stringify(plan?.spec.endpoints ?? []);
}

/**
 * Part 0's spec without what belongs to endpoints (the trigger time accompanies either
 * kind); later parts of a split plan carry only endpoints.
 */
function serviceOf(plan: ServiceNatPlan | undefined): string {
  if (!plan || plan.spec.part !== 0) return '';
  const { endpoints: _e, endpointCount: _c, triggerTime: _t, ...service } = plan.spec;
  return JSON.stringify(service);
}
