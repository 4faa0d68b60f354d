import { describe, expect, it } from 'vitest';
import { Metrics } from '@natplan/controller-kit';
import { FakeExec } from '../exec/index.js';
import { findKubeProxyRules, kubeProxyPresence } from './kube-proxy-presence.js';

const NATPLAN_ONLY = 'table inet natplan\ntable ip filter\n';
const KUBE_PROXY_NFT = 'table ip kube-proxy\ntable ip6 kube-proxy\ntable inet natplan\n';
const PREROUTING_WITH_KUBE_PROXY = '-P PREROUTING ACCEPT\n-A PREROUTING -m comment --comment "kubernetes service portals" -j KUBE-SERVICES\n';

describe('findKubeProxyRules', () => {
  it.each([
    ['nothing of kube-proxy', NATPLAN_ONLY, '-P PREROUTING ACCEPT\n', []],
    ['kube-proxy in nftables mode', KUBE_PROXY_NFT, '-P PREROUTING ACCEPT\n', ['nft table ip kube-proxy', 'nft table ip6 kube-proxy']],
    ['kube-proxy in iptables mode', NATPLAN_ONLY, PREROUTING_WITH_KUBE_PROXY, ['iptables nat KUBE-SERVICES', 'ip6tables nat KUBE-SERVICES']],
    // A chain named alike is not the jump kube-proxy installs.
    ['a look-alike chain', 'table ip kube-proxy-old\n', '-A PREROUTING -j KUBE-SERVICES-OLD\n', []],
  ])('%s', async (_name, tables, prerouting, found) => {
    const exec = new FakeExec().on('nft list tables', { stdout: tables }).on(/tables -w 5 -t nat -S PREROUTING$/, { stdout: prerouting });
    expect(await findKubeProxyRules(exec)).toEqual(found);
    // Reads only: no command that could change the node.
    expect(exec.calls.map((c) => c.command)).toEqual(['nft list tables', 'iptables -w 5 -t nat -S PREROUTING', 'ip6tables -w 5 -t nat -S PREROUTING']);
  });

  it('treats a missing tool as nothing found and never throws', async () => {
    const exec = new FakeExec().on('nft', { fail: 'notFound' }).on('ip', { fail: 'other', stderr: 'iptables: command not found' });
    expect(await findKubeProxyRules(exec)).toEqual([]);
  });
});

describe('kubeProxyPresence', () => {
  it('logs once per change and sets the gauge', async () => {
    const lines: [string, string][] = [];
    const logger = { info: (msg: string) => lines.push(['info', msg]), warn: (msg: string) => lines.push(['warn', msg]) };
    const metrics = new Metrics({ prefix: 'natplan_' });
    let tables = KUBE_PROXY_NFT;
    // The node changes between checks, so the tables are read at each call.
    const exec = new FakeExec().on('nft list tables', { get stdout() { return tables; } });
    const presence = kubeProxyPresence(exec, logger, metrics);
    const gauge = async () => (await metrics.registry.getSingleMetric('natplan_kube_proxy_rules_found')!.get()).values[0]!.value;

    await presence.check();
    await presence.check();
    expect(lines).toEqual([['warn', expect.stringMatching(/^kube-proxy rules found beside natplan/)]]);
    expect(await gauge()).toBe(1);
    tables = NATPLAN_ONLY;
    await presence.check();
    expect(lines.at(-1)).toEqual(['info', 'kube-proxy rules no longer found on this node']);
    expect(await gauge()).toBe(0);
  });

  it('says nothing on a node that never had kube-proxy', async () => {
    const lines: string[] = [];
    const presence = kubeProxyPresence(new FakeExec(), { info: (m) => lines.push(m), warn: (m) => lines.push(m) }, new Metrics());
    expect(await presence.check()).toEqual([]);
    expect(lines).toEqual([]);
  });
});
