import { describe, expect, it } from 'vitest';
import { BUILD_INFO, Metrics, registerBuildInfo } from '@natplan/controller-kit';
import type { ServiceNatPlan, ServiceNatPlanEndpoint, ServiceNatPlanSpec } from '@natplan/api';
import type { RenderInput } from '../render/index.js';
import { familiesOf, PROGRAMMING_BUCKETS, SYNC_BUCKETS } from './kube-proxy-metrics.js';
import { agentMetrics } from './metrics.js';

// Test addresses: pods 10.244.0.0/16 and fd00:10:244::/56, cluster IPs 10.96.0.0/16.
const ep = (address: string): ServiceNatPlanEndpoint => ({ address, nodeName: 'node-a', ports: [{ name: '', port: 8080 }], forCluster: true, forLocal: true });
const plan = (name: string, spec: Partial<ServiceNatPlanSpec> = {}): ServiceNatPlan => ({
  apiVersion: 'natplan.io/v1alpha1', kind: 'ServiceNatPlan', metadata: { namespace: 'shop', name },
  spec: { service: { name: name.replace(/-\d+$/, '') }, part: 0, clusterIPs: ['10.96.0.10'], ...spec },
});

/** The exposition's `# TYPE` lines: metric name -> type. */
async function types(metrics: Metrics): Promise<Map<string, string>> {
  const text = await metrics.text();
  return new Map([...text.matchAll(/^# TYPE (\S+) (\S+)$/gm)].map((m) => [m[1]!, m[2]!]));
}

/** The value of an unlabelled gauge or counter. */
async function value(metrics: Metrics, name: string): Promise<number | undefined> {
  return (await metrics.registry.getSingleMetric(name)?.get())?.values[0]?.value;
}

describe('kube-proxy metric names', () => {
  it('registers kube-proxy\'s exact names and types next to the natplan_ ones, and build_info', async () => {
    const metrics = new Metrics({ prefix: 'natplan_' });
    registerBuildInfo(metrics);
    agentMetrics(metrics);
    const t = await types(metrics);
    for (const [name, type] of [
      ['sync_proxy_rules_duration_seconds', 'histogram'],
      ['sync_full_proxy_rules_duration_seconds', 'histogram'],
      ['sync_partial_proxy_rules_duration_seconds', 'histogram'],
      ['sync_proxy_rules_last_timestamp_seconds', 'gauge'],
      ['sync_proxy_rules_last_queued_timestamp_seconds', 'gauge'],
      ['network_programming_duration_seconds', 'histogram'],
      ['sync_proxy_rules_endpoint_changes_pending', 'gauge'],
      ['sync_proxy_rules_endpoint_changes_total', 'counter'],
      ['sync_proxy_rules_service_changes_pending', 'gauge'],
      ['sync_proxy_rules_service_changes_total', 'counter'],
    ] as const) {
      expect(t.get(`kubeproxy_${name}`), `kubeproxy_${name}`).toBe(type);
      expect(t.get(`natplan_${name}`), `natplan_${name}`).toBe(type);
    }
    expect(t.get('natplan_build_info')).toBe('gauge');
    expect(await metrics.text()).toContain(`natplan_build_info{version="${BUILD_INFO.version}",node_version="${process.version}",platform="${process.platform}/${process.arch}"} 1`);
  });

  it('uses kube-proxy\'s buckets', () => {
    expect(SYNC_BUCKETS).toEqual([0.001, 0.002, 0.004, 0.008, 0.016, 0.032, 0.064, 0.128, 0.256, 0.512, 1.024, 2.048, 4.096, 8.192, 16.384]);
    expect(PROGRAMMING_BUCKETS.slice(0, 4)).toEqual([0.25, 0.5, 1, 2]);
    expect(PROGRAMMING_BUCKETS.slice(58, 64)).toEqual([57, 58, 59, 60, 65, 70]);
    expect(PROGRAMMING_BUCKETS.slice(-8)).toEqual([115, 120, 150, 180, 210, 240, 270, 300]);
    expect(PROGRAMMING_BUCKETS).toHaveLength(80);
  });

  it('a sync is observed once per IP family the node serves, under ip_family', async () => {
    const metrics = new Metrics({ prefix: 'natplan_' });
    const m = agentMetrics(metrics);
    const input: RenderInput = { node: { nodeName: 'node-a', podCIDRs: ['10.244.1.0/24', 'fd00:10:244:1::/64'] }, services: [], identity: { nodeName: 'node-a' } };
    m.kubeProxy.families = familiesOf(input);
    m.syncDuration.observe(0.003);
    m.lastSync.set(1700000000);
    const text = await metrics.text();
    expect(text).toContain('kubeproxy_sync_proxy_rules_duration_seconds_count{ip_family="IPv4"} 1');
    expect(text).toContain('kubeproxy_sync_proxy_rules_duration_seconds_count{ip_family="IPv6"} 1');
    expect(text).toContain('kubeproxy_sync_proxy_rules_duration_seconds_bucket{le="0.004",ip_family="IPv4"} 1');
    expect(text).toContain('kubeproxy_sync_proxy_rules_last_timestamp_seconds{ip_family="IPv6"} 1700000000');
    expect(text).toContain('natplan_sync_proxy_rules_duration_seconds_count 1');
  });

  it.each<[string, string[], ('IPv4' | 'IPv6')[][], string[]]>([
    ['a pod CIDR per family', ['fd00:10:244:1::/64'], [], ['IPv6']],
    ['the families of the Services', [], [['IPv4', 'IPv6']], ['IPv4', 'IPv6']],
    ['IPv4 when nothing says', [], [], ['IPv4']],
  ])('families: %s', (_name, podCIDRs, serviceFamilies, expected) => {
    const input: RenderInput = {
      node: { nodeName: 'node-a', podCIDRs },
      services: serviceFamilies.map((ipFamilies, i) => ({ namespace: 'shop', name: `s${i}`, spec: { service: { name: `s${i}` }, part: 0, ipFamilies } })),
      identity: { nodeName: 'node-a' },
    };
    expect(familiesOf(input)).toEqual(expected);
  });

  it('counts Service and endpoint changes, pending until a sync that read them succeeds', async () => {
    const metrics = new Metrics({ prefix: 'natplan_' });
    const { changes } = agentMetrics(metrics);
    const read = async () => ({
      endpointsPending: await value(metrics, 'kubeproxy_sync_proxy_rules_endpoint_changes_pending'),
      endpointsTotal: await value(metrics, 'kubeproxy_sync_proxy_rules_endpoint_changes_total'),
      servicesPending: await value(metrics, 'kubeproxy_sync_proxy_rules_service_changes_pending'),
      servicesTotal: await value(metrics, 'kubeproxy_sync_proxy_rules_service_changes_total'),
    });
    const api = plan('api');
    changes.record(undefined, api);
    expect(await read()).toEqual({ endpointsPending: 0, endpointsTotal: 0, servicesPending: 1, servicesTotal: 1 });
    const mark = changes.mark();
    // Changes after the sync read the plans stay pending after it succeeds.
    const withEndpoint = plan('api', { endpoints: [ep('10.244.1.5')], endpointCount: 1, triggerTime: '2026-01-01T00:00:00Z' });
    changes.record(api, withEndpoint);
    // A second part of the same Service is the same Service.
    changes.record(undefined, plan('api-1', { part: 1, service: { name: 'api' }, endpoints: [ep('10.244.1.6')] }));
    expect(await read()).toEqual({ endpointsPending: 1, endpointsTotal: 2, servicesPending: 1, servicesTotal: 1 });
    changes.synced(mark);
    expect(await read()).toEqual({ endpointsPending: 1, endpointsTotal: 2, servicesPending: 0, servicesTotal: 1 });
    changes.synced(changes.mark());
    expect(await read()).toEqual({ endpointsPending: 0, endpointsTotal: 2, servicesPending: 0, servicesTotal: 1 });
    expect(await value(metrics, 'natplan_sync_proxy_rules_endpoint_changes_total')).toBe(2);
    changes.record(withEndpoint, undefined);
    expect(await read()).toEqual({ endpointsPending: 1, endpointsTotal: 3, servicesPending: 1, servicesTotal: 2 });
  });
});
