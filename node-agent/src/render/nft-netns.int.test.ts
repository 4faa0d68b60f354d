/**
 * Real nft and iptables-restore, run ONLY inside fresh network namespaces created per call
 * with `unshare --net` (they vanish with the process, also when a test fails).
 */
// eslint-disable-next-line pure-core/no-impure-imports -- test-only: runs nft inside a private netns
import { spawnSync } from 'node:child_process';
// eslint-disable-next-line pure-core/no-impure-imports -- test-only: scripts are passed as temp files
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
// eslint-disable-next-line pure-core/no-impure-imports -- test-only: a temp dir for the scripts
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { iptablesCleanupScripts, iptablesHookJumps, renderIptables } from './iptables-render.js';
import { renderNftables } from './nft-render.js';
import { nftCleanupScript, nftColdStartScripts, nftFullSyncScript, nftIncrementalScript } from './nft-sync.js';
import { renderInput } from './testing/arbitraries.js';
import { makeEndpoint, makeInput, makeServicePlan } from './testing/builders.js';
import { normalizeNftListing } from './testing/netns.js';
import { scenarioInput } from './testing/scenario.js';

type Step = { run: 'nft -f' | 'nft -c -f' | 'iptables-restore --noflush' | 'ip6tables-restore --noflush' | 'iptables-restore --noflush --test' | 'ip6tables-restore --noflush --test'; input: string };

/** Runs the steps in order in one fresh netns, then lists the ruleset. */
function inFreshNetns(steps: Step[], list = true): { ok: boolean; listing: string; stderr: string } {
  const dir = mkdtempSync(join(tmpdir(), 'natplan-render-'));
  try {
    const commands = steps.map((step, i) => {
      const file = join(dir, `step${i}`);
      writeFileSync(file, step.input);
      return step.run.startsWith('nft') ? `${step.run} ${file}` : `${step.run} < ${file}`;
    });
    const script = ['set -e', ...commands, ...(list ? ['nft list ruleset'] : [])].join('\n');
    const result = spawnSync('unshare', ['--net', '--', 'sh', '-c', script], { encoding: 'utf8', timeout: 60_000 });
    return { ok: result.status === 0, listing: result.stdout, stderr: result.stderr };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function applied(steps: Step[]): string {
  const result = inFreshNetns(steps);
  expect(result.stderr).toBe('');
  expect(result.ok).toBe(true);
  return normalizeNftListing(result.listing);
}

const nft = (input: string): Step => ({ run: 'nft -f', input });

const scenarioB = () => {
  const input = scenarioInput((n) => { n.masqueradeAll = true; n.clusterCIDRs = ['10.244.0.0/16']; });
  const [first, ...rest] = input.services;
  if (first) first.spec.endpoints = [...(first.spec.endpoints ?? []), makeEndpoint('10.244.5.5')];
  rest.splice(2, 3); // three Services gone
  return { ...input, services: [first!, ...rest] };
};

describe('nft in a fresh network namespace', () => {
  const a = renderNftables(scenarioInput());
  const b = renderNftables(scenarioB());

  it('the harness itself reports a script nft refuses', () => {
    expect(inFreshNetns([{ run: 'nft -c -f', input: 'add rule ip natplan nowhere drop\n' }]).ok).toBe(false);
  });

  it('accepts the full sync, twice in a row (the second over a live table)', () => {
    const once = applied([nft(nftFullSyncScript(a))]);
    expect(applied([nft(nftFullSyncScript(a)), nft(nftFullSyncScript(a))])).toBe(once);
    expect(once).toMatch(/chain nat-prerouting/);
  });

  it('an incremental sync reaches exactly the state a fresh full sync gives, both ways', () => {
    const forward = nftIncrementalScript(a, b);
    const backward = nftIncrementalScript(b, a);
    expect(forward).not.toBeNull();
    expect(applied([nft(nftFullSyncScript(a)), nft(forward ?? '')])).toBe(applied([nft(nftFullSyncScript(b))]));
    expect(applied([nft(nftFullSyncScript(b)), nft(backward ?? '')])).toBe(applied([nft(nftFullSyncScript(a))]));
  });

  it('a changed affinity timeout is applied in place, keeping remembered clients', () => {
    const sticky = (timeoutSeconds: number) => renderNftables(makeInput([makeServicePlan('ns1', 'web', (s) => {
      s.sessionAffinity = { type: 'ClientIP', timeoutSeconds };
      s.endpoints = [makeEndpoint('10.244.2.1')];
    })]));
    const [before, after] = [sticky(60), sticky(120)];
    const script = nftIncrementalScript(before, after) ?? '';
    expect(script).toMatch(/^add set ip natplan aff-[0-9a-f]{16} \{ type ipv4_addr; flags dynamic,timeout; timeout 120s; \}\n$/);
    const setName = /aff-[0-9a-f]{16}/.exec(script)?.[0] ?? '';
    const remembered = `add element ip natplan ${setName} { 203.0.113.5 timeout 50s }\n`;
    const listing = applied([nft(nftFullSyncScript(before)), nft(remembered), nft(script)]);
    expect(listing).toMatch(/timeout 2m/);
    expect(listing).toMatch(/203\.0\.113\.5 timeout 50s/);
  });

  it('a full sync with the previous state removes what is no longer wanted', () => {
    expect(applied([nft(nftFullSyncScript(a)), nft(nftFullSyncScript(b, a))])).toBe(applied([nft(nftFullSyncScript(b))]));
  });

  it('cold-start chunks applied one after the other give the full-sync state', () => {
    const chunks = nftColdStartScripts(a, 40);
    expect(chunks.length).toBeGreaterThan(3);
    expect(applied(chunks.map(nft))).toBe(applied([nft(nftFullSyncScript(a))]));
  });

  it('cleanup succeeds on an empty namespace and removes everything', () => {
    expect(applied([nft(nftCleanupScript())])).toBe('');
    expect(applied([nft(nftFullSyncScript(a)), nft(nftCleanupScript()), nft(nftCleanupScript())])).toBe('');
  });

  it('property: every generated plan renders to a script nft accepts', () => {
    fc.assert(fc.property(renderInput(), (input) => {
      const result = inFreshNetns([{ run: 'nft -c -f', input: nftFullSyncScript(renderNftables(input)) }]);
      expect(result.stderr).toBe('');
      expect(result.ok).toBe(true);
    }), { numRuns: 60 });
  });

  it('property: incremental between two generated plans equals a fresh full sync', () => {
    fc.assert(fc.property(renderInput(4), renderInput(4), (first, second) => {
      const [x, y] = [renderNftables(first), renderNftables(second)];
      const steps = [nft(nftFullSyncScript(x)), ...[nftIncrementalScript(x, y)].filter((s): s is string => s !== null).map(nft)];
      expect(applied(steps)).toBe(applied([nft(nftFullSyncScript(y))]));
    }), { numRuns: 25 });
  });
});

describe('iptables-restore in a fresh network namespace', () => {
  const restore = (ipv4: string, ipv6: string): Step[] => [
    { run: 'iptables-restore --noflush', input: ipv4 },
    { run: 'ip6tables-restore --noflush', input: ipv6 },
  ];
  it('accepts the scenario, twice in a row (--noflush over its own chains)', () => {
    const { IPv4: ipv4, IPv6: ipv6 } = renderIptables(scenarioInput());
    const result = inFreshNetns([...restore(ipv4, ipv6), ...restore(ipv4, ipv6)], false);
    expect(result.stderr).toBe('');
    expect(result.ok).toBe(true);
  });
  it('hook jumps can be ensured idempotently, and cleanup removes every NATPLAN chain', () => {
    const { IPv4: ipv4, IPv6: ipv6 } = renderIptables(scenarioInput());
    const ensure = iptablesHookJumps().flatMap((j) => ['iptables', 'ip6tables'].map((bin) =>
      `${bin} -t ${j.table} -C ${j.chain} ${j.args.join(' ')} 2>/dev/null || ${bin} -t ${j.table} -I ${j.chain} ${j.args.join(' ')}`));
    const remove = iptablesHookJumps().flatMap((j) => ['iptables', 'ip6tables'].map((bin) => `${bin} -t ${j.table} -D ${j.chain} ${j.args.join(' ')}`));
    const chains = (text: string) => [...text.matchAll(/^:(NATPLAN-\S+)/gm)].map((m) => m[1] ?? '');
    const cleanup = iptablesCleanupScripts({ IPv4: chains(ipv4), IPv6: chains(ipv6) });
    const dir = mkdtempSync(join(tmpdir(), 'natplan-ipt-'));
    try {
      for (const [name, text] of Object.entries({ v4: ipv4, v6: ipv6, c4: cleanup.IPv4, c6: cleanup.IPv6 })) writeFileSync(join(dir, name), text);
      const script = ['set -e', `iptables-restore --noflush < ${dir}/v4`, `ip6tables-restore --noflush < ${dir}/v6`, ...ensure, ...ensure,
        `test "$(iptables-save -t nat | grep -c -- '-A PREROUTING -j NATPLAN-SERVICES')" = 1`,
        ...remove, `iptables-restore --noflush < ${dir}/c4`, `ip6tables-restore --noflush < ${dir}/c6`,
        '! iptables-save | grep NATPLAN', '! ip6tables-save | grep NATPLAN'].join('\n');
      const result = spawnSync('unshare', ['--net', '--', 'sh', '-c', script], { encoding: 'utf8', timeout: 60_000 });
      expect(result.stderr).toBe('');
      expect(result.status).toBe(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a re-render with the existing chains deletes the chains no longer wanted', () => {
    const before = renderIptables(scenarioInput());
    const after = renderIptables(scenarioB(), { existingChains: {
      IPv4: [...before.IPv4.matchAll(/^:(NATPLAN-\S+)/gm)].map((m) => m[1] ?? ''),
      IPv6: [...before.IPv6.matchAll(/^:(NATPLAN-\S+)/gm)].map((m) => m[1] ?? ''),
    } });
    const fresh = renderIptables(scenarioB());
    const dir = mkdtempSync(join(tmpdir(), 'natplan-ipt-'));
    try {
      for (const [name, text] of Object.entries({ b4: before.IPv4, b6: before.IPv6, a4: after.IPv4, a6: after.IPv6, f4: fresh.IPv4, f6: fresh.IPv6 })) writeFileSync(join(dir, name), text);
      const save = 'for t in nat filter; do iptables-save -t $t; ip6tables-save -t $t; done | grep -v "^#" | sort';
      const run = (files: string[]) => spawnSync('unshare', ['--net', '--', 'sh', '-c',
        ['set -e', ...files.map((f) => `${f.endsWith('4') ? 'iptables' : 'ip6tables'}-restore --noflush < ${dir}/${f}`), save].join('\n')], { encoding: 'utf8', timeout: 60_000 });
      const updated = run(['b4', 'b6', 'a4', 'a6']);
      expect(updated.status).toBe(0);
      expect(updated.stdout).toBe(run(['f4', 'f6']).stdout);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('property: every generated plan renders to input iptables-restore accepts', () => {
    fc.assert(fc.property(renderInput(), (input) => {
      const { IPv4: ipv4, IPv6: ipv6 } = renderIptables(input);
      const result = inFreshNetns([
        { run: 'iptables-restore --noflush --test', input: ipv4 },
        { run: 'ip6tables-restore --noflush --test', input: ipv6 },
      ]);
      expect(result.stderr).toBe('');
      expect(result.ok).toBe(true);
    }), { numRuns: 25 });
  });
});
