import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tcpProbe } from '@natplan/e2e/netns';
import type { Host, Miniupnpd, NetnsProcess } from '@natplan/e2e/netns';
import { createExec } from '../../src/exec/index.js';
import { EXTERNAL, GATEWAY_LAN, NODE, startGatewayLan, stopGatewayLan, type GatewayLan } from './gateway-lan.js';

// The gateway port-mapping client against a real gateway: miniupnpd (Debian's
// miniupnpd-nftables) in its own namespace, real PCP/NAT-PMP datagrams, real DNAT. The
// network is gateway-lan.ts's, with an outsider (172.18.0.100) on the LAN but outside the
// allow rule (172.18.0.0/28).

const CLI = fileURLToPath(new URL('../../src/gateway/cli.ts', import.meta.url));
const MAX_LIFETIME = 4;

let lan: GatewayLan;
let node: Host;
let outsider: Host;
let internet: Host;
let daemon: Miniupnpd;

beforeAll(async () => {
  lan = await startGatewayLan({ others: { outsider: '172.18.0.100' }, miniupnpd: { maxLifetimeSeconds: MAX_LIFETIME }, echoPorts: [8080, 9090] });
  ({ node, internet, daemon } = lan);
  outsider = lan.others.outsider!;
});

afterAll(async () => {
  await stopGatewayLan(lan);
});

interface CliEvent {
  event: string;
  renewal?: number;
  via?: string;
  reason?: string;
  resultCode?: number;
  externalAddress?: string;
  externalPort?: number;
  lifetimeSeconds?: number;
  epochSeconds?: number;
}

function events(proc: NetnsProcess): CliEvent[] {
  return proc.output().split('\n').filter((line) => line.startsWith('{')).map((line) => JSON.parse(line) as CliEvent);
}

/** Polls until `check` returns a value; the deadline fails the test with what was seen. */
async function eventually<T>(what: string, check: () => Promise<T | undefined> | T | undefined, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

function holdMapping(port: number, extra: string[] = []): NetnsProcess {
  // A lifetime far above the gateway's maximum: the grant is clamped, renewals follow the grant.
  return node.spawn([process.execPath, '--import', 'tsx', CLI, '--gateway', GATEWAY_LAN, '--protocol', 'tcp',
    '--port', String(port), '--external-port', String(port), '--lifetime', '3600', ...extra]);
}

async function mapOnce(from: Host, port: number, extra: string[] = []): Promise<{ code: number; event: CliEvent }> {
  const proc = from.spawn([process.execPath, '--import', 'tsx', CLI, '--gateway', GATEWAY_LAN, '--protocol', 'tcp',
    '--port', String(port), '--lifetime', String(MAX_LIFETIME), '--once', ...extra]);
  const { code, stdout, stderr } = await proc.exited();
  const line = stdout.split('\n').find((l) => l.startsWith('{'));
  if (line === undefined) throw new Error(`no answer line (exit ${code}): ${stderr}`);
  return { code: code ?? -1, event: JSON.parse(line) as CliEvent };
}

async function reachable(port: number): Promise<boolean> {
  const [result] = await tcpProbe(internet, EXTERNAL, port, { timeoutMs: 1500 });
  return result?.ok === true && result.server === 'node';
}

describe('port mapping through a real PCP/NAT-PMP gateway (miniupnpd)', () => {
  it('maps a TCP port over PCP, discovers the external address, renews a short lease, and delete makes it unreachable', async () => {
    expect(await reachable(8080)).toBe(false);
    const holder = holdMapping(8080);
    try {
      const first = await eventually('the first mapping', () => events(holder).find((e) => e.event === 'mapped'));
      expect(first).toMatchObject({ via: 'pcp', externalAddress: EXTERNAL, externalPort: 8080, lifetimeSeconds: MAX_LIFETIME });
      const mappedAt = Date.now();
      expect(await reachable(8080)).toBe(true);
      // Past two granted lifetimes the mapping still stands only because it was renewed.
      await eventually('renewals past two lifetimes', () =>
        events(holder).filter((e) => e.event === 'mapped').length >= 4 && Date.now() - mappedAt > 2 * MAX_LIFETIME * 1000 ? true : undefined,
      3 * MAX_LIFETIME * 1000 + 5000);
      expect(await reachable(8080)).toBe(true);
      expect(await daemon.redirects()).toEqual([expect.stringContaining(`dnat ip to ${NODE}:8080`)]);
    } finally {
      holder.child.kill('SIGTERM');
    }
    await eventually('the release', () => events(holder).find((e) => e.event === 'released'));
    expect(await daemon.redirects()).toEqual([]);
    expect(await reachable(8080)).toBe(false);
  });

  it('leaves the machine\'s own ruleset alone: every rule miniupnpd wrote is in the gateway namespace', async () => {
    const holder = holdMapping(9090);
    try {
      await eventually('a mapping', () => events(holder).find((e) => e.event === 'mapped'));
      expect(await daemon.redirects()).toHaveLength(1);
      const { stdout } = await createExec('host').run(['nft', 'list', 'ruleset']);
      expect(stdout).not.toContain('miniupnpd');
    } finally {
      holder.child.kill('SIGTERM');
      await eventually('the release', () => events(holder).find((e) => e.event === 'released'));
    }
  });

  it('NAT-PMP maps the same way and finds the external address (the fallback protocol)', async () => {
    const { code, event } = await mapOnce(node, 8080, ['--only', 'nat-pmp', '--external-port', '8080']);
    expect(code).toBe(0);
    expect(event).toMatchObject({ event: 'mapped', via: 'nat-pmp', externalAddress: EXTERNAL, externalPort: 8080 });
    expect(await reachable(8080)).toBe(true);
    // Let it lapse: the gateway expires what is not renewed.
    await eventually('the NAT-PMP mapping to expire', async () => ((await daemon.redirects()).length === 0 ? true : undefined), MAX_LIFETIME * 1000 + 10_000);
    expect(await reachable(8080)).toBe(false);
  });

  it.each([
    ['a mapping for another host (THIRD_PARTY, not allowed)', 'node', ['--third-party', '172.18.0.3'], 'unsupported', 5],
    ['a request claiming another host\'s address', 'node', ['--claim-address', '172.18.0.3'], 'address-mismatch', 12],
    // miniupnpd answers a request whose every external port is denied with NOT_AUTHORIZED
    // only after trying all 65535 ports (longer than any client waits, a log line each, the
    // daemon deaf meanwhile; NAT-PMP alike). With PREFER_FAILURE it stops at the suggested
    // port and answers CANNOT_PROVIDE_EXTERNAL at once.
    ['a LAN host outside the allowed node subnet (PCP, PREFER_FAILURE)', 'outsider', ['--only', 'pcp', '--prefer-failure', '--external-port', '7070'], 'port-unavailable', 11],
  ] as const)('refuses %s with a typed reason', async (_name, from, extra, reason, resultCode) => {
    const { code, event } = await mapOnce(from === 'node' ? node : outsider, 7070, [...extra]);
    expect(event).toMatchObject({ event: 'refused', via: 'pcp', reason, resultCode });
    expect(code).toBe(2);
    expect(await daemon.redirects()).toEqual([]);
  });

  it('re-creates the mapping on the first renewal after a gateway restart that lost it', async () => {
    const holder = holdMapping(8080);
    try {
      await eventually('a mapping', () => events(holder).find((e) => e.event === 'mapped'));
      expect(await reachable(8080)).toBe(true);
      // A reboot: the daemon dies and the gateway comes back with an empty ruleset.
      await daemon.kill();
      await daemon.removeTable();
      await daemon.installTable();
      expect(await reachable(8080)).toBe(false);
      const seenBefore = events(holder).filter((e) => e.event === 'mapped').length;
      const restartedAt = Date.now();
      await daemon.start();
      const after = await eventually('a renewal after the restart', () =>
        events(holder).filter((e) => e.event === 'mapped').slice(seenBefore).at(0), MAX_LIFETIME * 1000 + 10_000);
      // The epoch restarted: the gateway's state is new, the mapping is the same.
      expect(after.epochSeconds).toBeLessThanOrEqual(Math.ceil((Date.now() - restartedAt) / 1000) + 1);
      expect(after).toMatchObject({ externalAddress: EXTERNAL, externalPort: 8080 });
      expect(await reachable(8080)).toBe(true);
    } finally {
      holder.child.kill('SIGTERM');
    }
    await eventually('the release', () => events(holder).find((e) => e.event === 'released'));
  });
});
