/**
 * kube-proxy's rules found for real, in network namespaces this test creates: its nftables
 * tables and its iptables PREROUTING jump, as kube-proxy installs them, and nothing on a
 * node without them. The look is read-only: the clean node has no table afterwards.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Topology, type Host } from '@natplan/e2e/netns';
import { findKubeProxyRules } from '../src/shell/kube-proxy-presence.js';

let topology: Topology;
let clean: Host;
let nftMode: Host;
let iptablesMode: Host;

beforeAll(async () => {
  topology = await Topology.create();
  [clean, nftMode, iptablesMode] = await Promise.all([topology.addHost('kp-clean'), topology.addHost('kp-nft'), topology.addHost('kp-ipt')]);
  // What kube-proxy's nftables mode creates first (its tables), and its iptables mode's hook.
  await nftMode.run(['nft', '-f', '-'], { stdin: 'table ip kube-proxy {\n  chain services {\n  }\n}\ntable ip6 kube-proxy {\n  chain services {\n  }\n}\n' });
  await iptablesMode.run(['iptables', '-w', '5', '-t', 'nat', '-N', 'KUBE-SERVICES']);
  await iptablesMode.run(['iptables', '-w', '5', '-t', 'nat', '-A', 'PREROUTING', '-m', 'comment', '--comment', 'kubernetes service portals', '-j', 'KUBE-SERVICES']);
});
afterAll(async () => {
  await topology?.destroy();
});

describe('findKubeProxyRules in a network namespace', () => {
  it('finds kube-proxy\'s nftables tables', async () => {
    expect(await findKubeProxyRules(nftMode.exec)).toEqual(['nft table ip kube-proxy', 'nft table ip6 kube-proxy']);
  });

  it('finds kube-proxy\'s iptables jump to KUBE-SERVICES', async () => {
    expect(await findKubeProxyRules(iptablesMode.exec)).toEqual(['iptables nat KUBE-SERVICES']);
  });

  it('finds nothing on a clean node, and leaves it as clean as it was', async () => {
    expect(await findKubeProxyRules(clean.exec)).toEqual([]);
    expect((await clean.run(['nft', 'list', 'tables'])).stdout).toBe('');
  });
});
