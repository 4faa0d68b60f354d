import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Host, NetnsProcess } from './topology.js';

/** Debian's miniupnpd-nftables (tools/prereqs.sh installs it; no service is started). */
export const MINIUPNPD = '/usr/sbin/miniupnpd';

export interface MiniupnpdOptions {
  /** The gateway's WAN and LAN interfaces. */
  readonly wanInterface: string;
  readonly lanInterface: string;
  /** Allow rules, e.g. ['1024-65535 172.18.0.0/28 1024-65535']; everything else is denied. */
  readonly allow: readonly string[];
  /** The longest lifetime the gateway grants, in seconds. */
  readonly maxLifetimeSeconds: number;
  /** Which protocols answer: PCP and NAT-PMP (default on), UPnP IGD (SSDP and HTTP; default off). */
  readonly natpmp?: boolean;
  readonly upnp?: boolean;
}

/**
 * miniupnpd as a real PCP/NAT-PMP gateway inside a test namespace. It runs in the
 * foreground (-d) under `ip netns exec`, so every nft rule it writes lands in that
 * namespace's ruleset; the table it fills is created here the way Debian's nft_init.sh
 * would, with a forward chain that drops what no mapping allows. By default only
 * NAT-PMP/PCP on port 5351 of the LAN interface answers; `upnp` adds UPnP IGD (SSDP on
 * 1900, HTTP on a port it picks), `natpmp: false` leaves UPnP alone.
 */
export class Miniupnpd {
  private process: NetnsProcess | undefined;

  private constructor(readonly gateway: Host, private readonly dir: string, private readonly options: MiniupnpdOptions) {}

  static async create(gateway: Host, options: MiniupnpdOptions): Promise<Miniupnpd> {
    const dir = await mkdtemp(join(tmpdir(), 'natplan-miniupnpd-'));
    const daemon = new Miniupnpd(gateway, dir, options);
    await writeFile(daemon.configPath, daemon.config());
    return daemon;
  }

  get configPath(): string {
    return join(this.dir, 'miniupnpd.conf');
  }

  /** The ruleset a freshly booted gateway has: the table and empty miniupnpd chains. */
  async installTable(): Promise<void> {
    const lan = this.options.lanInterface;
    await this.gateway.run(['nft', '-f', '-'], { stdin: `
table inet miniupnpd {
  chain forward {
    type filter hook forward priority 0; policy drop;
    ct state established,related accept
    iifname "${lan}" accept
    jump forward_miniupnpd
  }
  chain forward_miniupnpd { }
  chain prerouting { type nat hook prerouting priority -100; policy accept; jump prerouting_miniupnpd; }
  chain postrouting { type nat hook postrouting priority 100; policy accept; jump postrouting_miniupnpd; }
  chain prerouting_miniupnpd { }
  chain postrouting_miniupnpd { }
}
` });
  }

  /** Removes the table: with the daemon killed first, a gateway reboot that lost every mapping. */
  async removeTable(): Promise<void> {
    await this.gateway.run(['nft', 'delete', 'table', 'inet', 'miniupnpd']);
  }

  /** Starts the daemon; resolves once it listens for PCP/NAT-PMP. */
  async start(): Promise<void> {
    if (this.process !== undefined) throw new Error('miniupnpd already running');
    // miniupnpd logs to stderr in the foreground; folded into stdout for waitFor.
    this.process = this.gateway.spawn(['sh', '-c', `exec ${MINIUPNPD} -d -f ${this.configPath} -P ${join(this.dir, 'pid')} 2>&1`]);
    await this.process.waitFor(this.options.natpmp === false ? /HTTP listening on port/ : /Listening for NAT-PMP\/PCP traffic/, 10_000);
  }

  /** Kills the daemon without letting it clean up (a crash or power loss). */
  async kill(): Promise<void> {
    const proc = this.process;
    this.process = undefined;
    if (proc === undefined) return;
    proc.kill();
    await proc.exited();
  }

  log(): string {
    return this.process?.output() ?? '';
  }

  /** The DNAT rules miniupnpd holds now, as nft prints them. */
  async redirects(): Promise<string[]> {
    const { stdout } = await this.gateway.run(['nft', 'list', 'chain', 'inet', 'miniupnpd', 'prerouting_miniupnpd']);
    return stdout.split('\n').map((line) => line.trim()).filter((line) => line.includes('dnat'));
  }

  async destroy(): Promise<void> {
    await this.kill();
    await rm(this.dir, { recursive: true, force: true });
  }

  private config(): string {
    const { wanInterface, lanInterface, allow, maxLifetimeSeconds, natpmp = true, upnp = false } = this.options;
    return [
      `ext_ifname=${wanInterface}`,
      `listening_ip=${lanInterface}`,
      `enable_upnp=${upnp ? 'yes' : 'no'}`,
      `enable_natpmp=${natpmp ? 'yes' : 'no'}`, // NAT-PMP and PCP both
      'uuid=3d3cec3a-8cf0-11e0-98ee-001a6bd2d07b',
      'secure_mode=yes',
      'min_lifetime=1',
      `max_lifetime=${maxLifetimeSeconds}`,
      'upnp_table_name=miniupnpd',
      'upnp_nat_table_name=miniupnpd',
      'upnp_forward_chain=forward_miniupnpd',
      'upnp_nat_chain=prerouting_miniupnpd',
      'upnp_nat_postrouting_chain=postrouting_miniupnpd',
      ...allow.map((rule) => `allow ${rule}`),
      'deny 0-65535 0.0.0.0/0 0-65535',
      '',
    ].join('\n');
  }
}
