import { describe, expect, it } from 'vitest';
import { parseAgentConfig } from './config.js';

describe('agent configuration', () => {
  it('defaults: metrics and health on loopback only, like kube-proxy\'s metrics', () => {
    const r = parseAgentConfig([], { NODE_NAME: 'node-a' });
    if (!r.ok) throw new Error(r.errors.join('; '));
    expect(r.config).toMatchObject({ nodeName: 'node-a', metrics: { host: '127.0.0.1', port: 10261 }, minSyncPeriodMs: 1000, resyncPeriodMs: 300_000, healthCheckServers: true, logLevel: 'info' });
  });

  it.each([
    [['--metrics-address=0.0.0.0:10261'], {}, { host: '0.0.0.0', port: 10261 }],
    [['--metrics-address=:10262'], {}, { host: '0.0.0.0', port: 10262 }],
    [['--metrics-address=[::1]:10261'], {}, { host: '::1', port: 10261 }],
    [[], { NATPLAN_METRICS_ADDRESS: '192.0.2.10:10261' }, { host: '192.0.2.10', port: 10261 }],
    [['--metrics-address=127.0.0.1:1'], { NATPLAN_METRICS_ADDRESS: '0.0.0.0:2' }, { host: '127.0.0.1', port: 1 }],
  ])('metrics and health bind where asked: %j %j', (argv, env, expected) => {
    const r = parseAgentConfig(['--node-name=node-a', ...argv], env);
    if (!r.ok) throw new Error(r.errors.join('; '));
    expect(r.config.metrics).toEqual(expected);
  });

  it.each([
    [[], { host: '0.0.0.0', port: 10256 }],
    [['--healthz-bind-address=172.18.0.2:10256'], { host: '172.18.0.2', port: 10256 }],
    [['--healthz-bind-address='], undefined],
  ])('kube-proxy\'s /healthz listens on every node address unless told: %j', (argv, expected) => {
    const r = parseAgentConfig(['--node-name=node-a', ...argv], {});
    if (!r.ok) throw new Error(r.errors.join('; '));
    expect(r.config.healthz).toEqual(expected);
  });

  it.each([
    [['--healthz-bind-address=10256'], '--healthz-bind-address: "10256" is not host:port'],
    [['--metrics-address=10261'], '--metrics-address: "10261" is not host:port'],
    [['--metrics-address=127.0.0.1:70000'], '--metrics-address: "127.0.0.1:70000" is not host:port'],
    [['--gateway=router.lan'], '--gateway: "router.lan" is not auto, none or an IPv4 address'],
    [['--gateway-retry=100ms'], '--gateway-retry must be at least 1s'],
    [['--gateway-lifetime=100ms'], '--gateway-lifetime must be at least 1s'],
  ])('refuses %j with a clear error', (argv, message) => {
    const r = parseAgentConfig(['--node-name=node-a', ...argv], {});
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.errors.join('\n')).toContain(message);
  });

  it('gateway port mappings: the default route\'s gateway, an hour asked, a minute between retries, the list under /var/lib/natplan', () => {
    const r = parseAgentConfig(['--node-name=node-a'], {});
    if (!r.ok) throw new Error(r.errors.join('; '));
    expect(r.config).toMatchObject({ gateway: 'auto', gatewayLifetimeSeconds: 3600, gatewayRetryMs: 60_000, gatewayStateFile: '/var/lib/natplan/gateway-mappings.json' });
    const named = parseAgentConfig(['--node-name=node-a', '--gateway=172.18.0.254', '--gateway-state-file='], {});
    expect(named.ok && named.config).toMatchObject({ gateway: '172.18.0.254', gatewayStateFile: '' });
  });

  it('needs a node name unless it only cleans up', () => {
    const r = parseAgentConfig([], {});
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.errors).toContain('--node-name (or NODE_NAME) is required');
    expect(parseAgentConfig(['--cleanup'], {}).ok).toBe(true);
  });
});
