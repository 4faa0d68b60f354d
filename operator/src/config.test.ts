import { describe, expect, it } from 'vitest';
import { parseOperatorConfig } from './config.js';

describe('operator configuration', () => {
  it('defaults: replace mode, natplan proxy name, no external IPs allowed, leader election on', () => {
    const r = parseOperatorConfig([], {}, 'host-1');
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.config.planner).toMatchObject({ mode: 'replace', proxyName: 'natplan', externalIPAllowList: [], masqueradeAll: false, backend: 'auto' });
    expect(r.config.leaderElection).toEqual({ enabled: true, namespace: 'natplan-system', name: 'natplan-operator', identity: 'host-1', leaseDurationMs: 15_000 });
    expect(r.config.metrics).toEqual({ host: '127.0.0.1', port: 9090 });
    expect(r.config.planner.reservedPorts.has(10250)).toBe(true);
    expect(r.config.planner.reservedPorts.has(10261)).toBe(true);
    expect(r.config.planner.nodePortRange).toEqual({ from: 30000, to: 32767 });
    expect(r.config.planner.maxEndpointsPerPart).toBe(100);
  });

  it('throughput: 16 workers and 1000/2000 writes per second by default; flags and environment override; nonsense refused', () => {
    const d = parseOperatorConfig([], {}, 'h');
    expect(d.ok && d.config.throughput).toEqual({ workers: 16, qps: 1000, burst: 2000 });
    const r = parseOperatorConfig(['--workers=4', '--kube-api-qps=50'], { NATPLAN_KUBE_API_BURST: '100' }, 'h');
    expect(r.ok && r.config.throughput).toEqual({ workers: 4, qps: 50, burst: 100 });
    const bad = parseOperatorConfig(['--workers=0', '--kube-api-burst=0'], {}, 'h');
    expect(bad).toEqual({ ok: false, errors: ['--workers: must be at least 1', '--kube-api-burst: must be at least 1'] });
  });

  it('reads flags, and the environment where a flag is absent (as the Helm chart sets them)', () => {
    const r = parseOperatorConfig(['--mode=complement', '--cluster-cidrs=10.244.0.0/16,fd00:10:244::/56'], { NATPLAN_MODE: 'replace', POD_NAME: 'op-0', POD_NAMESPACE: 'np', NATPLAN_EXTERNAL_IP_ALLOW_LIST: '192.0.2.0/24' }, 'h');
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.config.planner.mode).toBe('complement');
    expect(r.config.planner.clusterCIDRs).toEqual(['10.244.0.0/16', 'fd00:10:244::/56']);
    expect(r.config.planner.externalIPAllowList).toHaveLength(1);
    expect(r.config.leaderElection).toMatchObject({ identity: 'op-0', namespace: 'np' });
  });

  it('reads the local-traffic detector and primary node-port addresses', () => {
    const r = parseOperatorConfig(['--detect-local-mode=BridgeInterface', '--pod-bridge-interface=cni0', '--node-port-addresses=primary'], {}, 'h');
    if (!r.ok) throw new Error(r.errors.join('; '));
    expect(r.config.planner.localTraffic).toEqual({ mode: 'BridgeInterface', interfaceName: 'cni0' });
    expect(r.config.planner.nodePortAddressesPrimary).toBe(true);
  });

  it.each([
    [['--metrics-address=0.0.0.0:9090'], {}, { host: '0.0.0.0', port: 9090 }],
    [['--metrics-address=:9091'], {}, { host: '0.0.0.0', port: 9091 }],
    [[], { NATPLAN_METRICS_ADDRESS: '10.0.0.7:9090' }, { host: '10.0.0.7', port: 9090 }],
  ])('metrics and health bind where asked: %j %j', (argv, env, expected) => {
    const r = parseOperatorConfig(argv, env, 'h');
    if (!r.ok) throw new Error(r.errors.join('; '));
    expect(r.config.metrics).toEqual(expected);
  });

  it.each([
    [['--mode=both'], '--mode: "both" is not replace or complement'],
    [['--backend=ipvs'], '--backend: "ipvs" is not auto, nftables or iptables'],
    [['--reserved-ports=22,ssh'], '--reserved-ports: every entry must be a port number'],
    [['--metrics-address=9090'], '--metrics-address: "9090" is not host:port'],
    [['--log-level=loud'], '--log-level: "loud" is not one of debug, info, warn, error'],
    [['--cluster-cidrs=10.244.0.0'], '--cluster-cidrs: "10.244.0.0" is not a CIDR'],
    [['--external-ip-allow-list=everything'], '--external-ip-allow-list: "everything" is not a CIDR'],
    [['--lease-duration=forever'], '--lease-duration: "forever" is not a duration'],
    [['--no-such-flag'], 'unknown flag --no-such-flag'],
    [['--detect-local-mode=InterfaceNamePrefix'], '--pod-interface-name-prefix: "" is not an interface name'],
    [['--detect-local-mode=ClusterCIDR'], '--detect-local-mode: ClusterCIDR needs clusterCIDRs'],
    [['--max-endpoints-per-part=5000'], '--max-endpoints-per-part: must be an integer from 1 to 1000'],
    [['--service-node-port-range=all'], '--service-node-port-range: "all" is not a port range like 30000-32767'],
    [['--api-server-endpoints=10.0.0.1'], '--api-server-endpoints: "10.0.0.1" is not ip:port'],
  ])('refuses %j with a clear error', (argv, message) => {
    const r = parseOperatorConfig(argv, {}, 'h');
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.errors.join('\n')).toContain(message);
  });
});
