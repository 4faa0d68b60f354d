/**
 * The chart's PrometheusRule and Grafana dashboard name only metrics the programs export.
 * The operator's names come from two real operators (leader election on a real API
 * server): what their /metrics serve, leader and standby. The agent's come from the
 * registry its shell builds (agentMetrics on a natplan_-prefixed Metrics, as
 * node-agent/src/shell/agent.ts does). It also pins the fact the NoLeader alert rests on:
 * only the leader exports natplan_workqueue_depth.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { jsonLogger, Metrics } from '@natplan/controller-kit';
import { agentMetrics } from '@natplan/node-agent';
import { parseOperatorConfig, type RunningOperator, startOperator } from '@natplan/operator';
import { crdsDir, freePort, helm, kubectl, startControlPlane, waitFor, type ControlPlane } from '../control-plane/index.js';

const chart = join(crdsDir, '..', 'charts', 'natplan');
let cp: ControlPlane;
const operators: RunningOperator[] = [];

/** Metric names in the exposition text, histogram series folded into their base name. */
const exported = (text: string) => new Set([...text.matchAll(/^# TYPE (natplan_\w+) (\w+)$/gm)].map((m) => m[1]!));
/** natplan_ metric names an expression reads, with histogram suffixes removed. */
const namesIn = (expr: string) => [...expr.matchAll(/\bnatplan_\w+/g)].map((m) => m[0].replace(/_(bucket|sum|count)$/, ''));

async function startReplica(identity: string): Promise<RunningOperator> {
  const parsed = parseOperatorConfig([`--metrics-address=127.0.0.1:${await freePort()}`, `--identity=${identity}`, '--leader-election-namespace=natplan-system'], {}, identity);
  if (!parsed.ok) throw new Error(parsed.errors.join('; '));
  const op = await startOperator({ kubeConfig: cp.kubeConfig, config: parsed.config, logger: jsonLogger({ component: 'operator', level: 'error' }) });
  operators.push(op);
  return op;
}

beforeAll(async () => {
  cp = await startControlPlane();
  await kubectl(cp.kubeconfigPath, ['create', 'namespace', 'natplan-system']);
});
afterAll(async () => {
  for (const op of operators) await op.stop();
  await cp?.stop();
});

describe('monitoring objects of charts/natplan', () => {
  let known: Set<string>;
  let leader: RunningOperator;
  let standby: RunningOperator;

  beforeAll(async () => {
    const a = await startReplica('op-a');
    await waitFor('op-a to lead', async () => (a.isLeader() ? true : undefined), 30_000);
    const b = await startReplica('op-b');
    [leader, standby] = [a, b];
    // The leader exports its queue gauges once its controllers run.
    await waitFor('the leader\'s controllers', async () => (exported(await leader.metrics.text()).has('natplan_workqueue_depth') && (await leader.metrics.text()).includes('controller="services"') ? true : undefined), 30_000);
    const agent = new Metrics({ prefix: 'natplan_', defaultMetrics: true });
    agentMetrics(agent);
    known = new Set([...exported(await leader.metrics.text()), ...exported(await agent.text())]);
  });

  it('only the leader exports work-queue depths (what NatplanOperatorNoLeader watches)', async () => {
    expect(standby.isLeader()).toBe(false);
    expect(await leader.metrics.text()).toMatch(/^natplan_workqueue_depth\{controller="services"\} \d+$/m);
    expect(await standby.metrics.text()).not.toMatch(/^natplan_workqueue_depth\{/m);
  });

  it('the PrometheusRule names only exported metrics, in expressions with balanced brackets', async () => {
    const r = await helm(cp.kubeconfigPath, ['template', 'natplan', chart, '-n', 'natplan-system', '--set', 'prometheusRule.enabled=true', '--show-only', 'templates/prometheus-rule.yaml']);
    expect(r.code, r.stderr).toBe(0);
    const rule = parseAllDocuments(r.stdout)[0]!.toJS();
    const rules = rule.spec.groups.flatMap((g: { rules: { alert: string; expr: string }[] }) => g.rules);
    expect(rules.map((x: { alert: string }) => x.alert).sort()).toEqual([
      'NatplanNetworkProgrammingSlow', 'NatplanOperatorNoLeader', 'NatplanOperatorReconcileErrors', 'NatplanPlansNotEnforced', 'NatplanSyncFailing', 'NatplanSyncStale',
    ]);
    for (const { alert, expr } of rules) {
      const names = namesIn(expr);
      expect(names.length, alert).toBeGreaterThan(0);
      for (const name of names) expect(known, `${alert}: ${name}`).toContain(name);
      for (const [open, close] of [['(', ')'], ['{', '}'], ['[', ']']]) expect(expr.split(open!).length, `${alert}: ${open}${close}`).toBe(expr.split(close!).length);
      expect(expr, alert).toContain('namespace="natplan-system"');
    }
  });

  it('the Grafana dashboard is a sidecar ConfigMap whose panels name only exported metrics', async () => {
    const r = await helm(cp.kubeconfigPath, ['template', 'natplan', chart, '-n', 'natplan-system', '--set', 'grafanaDashboard.enabled=true', '--show-only', 'templates/grafana-dashboard.yaml']);
    expect(r.code, r.stderr).toBe(0);
    const configMap = parseAllDocuments(r.stdout)[0]!.toJS();
    expect(configMap.metadata.labels.grafana_dashboard).toBe('1');
    const dashboard = JSON.parse(configMap.data['natplan.json']);
    const exprs: string[] = dashboard.panels.flatMap((p: { targets: { expr: string }[] }) => p.targets.map((t) => t.expr));
    expect(exprs.length).toBeGreaterThanOrEqual(10);
    const names = new Set(exprs.flatMap(namesIn));
    for (const name of names) expect(known, name).toContain(name);
    // Every agent metric the dashboard could show is shown.
    for (const name of ['natplan_network_programming_duration_seconds', 'natplan_sync_proxy_rules_failures_total', 'natplan_sync_proxy_rules_last_timestamp_seconds', 'natplan_invalid_plans']) expect(names).toContain(name);
  });

  it('a name the programs do not export would be caught', () => {
    expect(known).not.toContain('natplan_sync_proxy_rules_iptables_total');
    expect(known.size).toBeGreaterThan(10);
  });
});
