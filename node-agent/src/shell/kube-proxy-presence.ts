/**
 * Whether kube-proxy's rules are on this node beside natplan's. In replace mode both would
 * answer for the same Services (whichever hook runs first wins, per packet family and
 * chain); in complement mode and during a migration kube-proxy is expected. The agent
 * cannot tell which: the mode is an operator setting and NodeNatPlan does not carry it.
 * So the finding is reported neutrally — one log line when it changes and the gauge
 * `natplan_kube_proxy_rules_found` — and the message says when it matters.
 *
 * What is looked for is what kube-proxy installs and what `kube-proxy --cleanup` removes:
 * its nftables tables (`ip kube-proxy`, `ip6 kube-proxy`) and, for its iptables mode, the
 * jump to KUBE-SERVICES in the nat table's PREROUTING (read with `-S PREROUTING`, a few
 * lines, never the whole KUBE-SERVICES chain, which has a rule per Service port).
 */
import type { JsonLogger, Metrics } from '@natplan/controller-kit';
import type { Exec } from '../exec/index.js';

const KUBE_PROXY_NFT_TABLES = ['table ip kube-proxy', 'table ip6 kube-proxy'];
/**
 * The default userspace only (iptables-nft in the image), which only reads: listing a
 * table that does not exist creates nothing. iptables-legacy is left out on purpose:
 * naming the nat table there loads iptable_nat, a change to a host that had none.
 */
const IPTABLES_BINARIES = ['iptables', 'ip6tables'];

/** What of kube-proxy's is on the node, e.g. `nft table ip kube-proxy`; empty when nothing. */
export async function findKubeProxyRules(exec: Exec): Promise<string[]> {
  const found: string[] = [];
  // A missing tool or table means "not there"; the check must never fail the agent.
  const read = (argv: string[]) => exec.run(argv).then((r) => r.stdout, () => '');
  const tables = (await read(['nft', 'list', 'tables'])).split('\n').map((line) => line.trim());
  for (const table of KUBE_PROXY_NFT_TABLES) if (tables.includes(table)) found.push(`nft ${table}`);
  for (const binary of IPTABLES_BINARIES) {
    const prerouting = await read([binary, '-w', '5', '-t', 'nat', '-S', 'PREROUTING']);
    if (/-j KUBE-SERVICES(\s|$)/m.test(prerouting)) found.push(`${binary} nat KUBE-SERVICES`);
  }
  return found;
}

export interface KubeProxyPresence {
  /** Looks again; logs and sets the gauge when the finding changed. Never throws. */
  check(): Promise<string[]>;
}

export function kubeProxyPresence(exec: Exec, logger: Pick<JsonLogger, 'info' | 'warn'>, metrics: Metrics): KubeProxyPresence {
  const gauge = metrics.gauge('kube_proxy_rules_found', '1 when kube-proxy\'s nftables tables or iptables KUBE-SERVICES jump are on this node beside natplan\'s rules (expected in complement mode only).');
  let last: string | undefined;
  return {
    async check() {
      const found = await findKubeProxyRules(exec);
      gauge.set(found.length > 0 ? 1 : 0);
      const key = found.join(',');
      if (key !== last) {
        if (found.length > 0) {
          logger.warn('kube-proxy rules found beside natplan: expected in complement mode and during a migration; in replace mode remove kube-proxy and run kube-proxy --cleanup on this node', { found });
        } else if (last !== undefined) {
          logger.info('kube-proxy rules no longer found on this node');
        }
      }
      last = key;
      return found;
    },
  };
}
