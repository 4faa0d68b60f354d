/**
 * The uninstall hook's per-node script, as the chart renders it, run for real in a network
 * namespace of its own (`unshare --net`: it vanishes with the process, also on failure):
 * while something listens on the agent's port (the agent has not stopped yet) it waits and
 * leaves the rules alone; once the port closes it runs `natplan cleanup`, and the node
 * holds no natplan table any more. Only the program's path differs from the image
 * (/app/dist/bin/natplan.js there, the sources through tsx here).
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { crdsDir, helm } from '../control-plane/index.js';

const root = join(crdsDir, '..');
const chart = join(root, 'charts', 'natplan');
const IMAGE_PROGRAM = 'node /app/dist/bin/natplan.js';

async function cleanupScript(): Promise<string> {
  // helm template needs no cluster; the kubeconfig path is never read.
  const r = await helm('/dev/null', ['template', 'natplan', chart, '-n', 'natplan-system', '--show-only', 'templates/uninstall-cleanup.yaml']);
  if (r.code !== 0) throw new Error(r.stderr);
  const ds = parseAllDocuments(r.stdout).map((d) => d.toJS()).find((d) => d?.kind === 'DaemonSet');
  const [shell, flag, script] = ds.spec.template.spec.initContainers[0].command as string[];
  expect([shell, flag]).toEqual(['bash', '-c']);
  expect(script).toContain(IMAGE_PROGRAM);
  return script!.replace(IMAGE_PROGRAM, `node --import ${import.meta.resolve('tsx')} ${join(root, 'bin', 'natplan.ts')}`);
}

describe('uninstall cleanup hook script', () => {
  it('waits while the agent listens, then removes every natplan rule of the node', async () => {
    const script = await cleanupScript();
    // In the namespace: natplan tables as an agent leaves them, a stand-in agent on
    // 127.0.0.1:10261, the hook script; the agent stops only once the script is seen waiting.
    const scenario = `
      set -e
      ip link set lo up
      nft add table ip natplan; nft add chain ip natplan services
      nft add table ip6 natplan
      node -e "require('node:net').createServer().listen(10261, '127.0.0.1')" & agent=$!
      until (exec 3<>/dev/tcp/127.0.0.1/10261) 2>/dev/null; do sleep 0.1; done
      NODE_NAME=node-a bash -c "$HOOK" > hook.log 2>&1 & hook=$!
      until grep -q 'waiting for the natplan agent' hook.log; do sleep 0.1; done
      echo "tables while the agent runs: $(nft list tables | tr '\\n' ' ')"
      kill $agent; wait $agent || true
      wait $hook && rc=0 || rc=$?; echo "hook exit: $rc"
      echo "natplan tables after: [$(nft list tables | grep natplan | tr '\\n' ' ')]"
      echo "natplan mentions in the ruleset after: $(nft list ruleset | grep -ci natplan || true)"
      cat hook.log`;
    const dir = spawnSync('mktemp', ['-d'], { encoding: 'utf8' }).stdout.trim();
    try {
      const r = spawnSync('unshare', ['--net', '--', 'bash', '-c', scenario], { cwd: dir, encoding: 'utf8', timeout: 90_000, env: { ...process.env, HOOK: script } });
      expect(r.status, r.stdout + r.stderr).toBe(0);
      expect(r.stdout).toContain('tables while the agent runs: table ip natplan table ip6 natplan');
      expect(r.stdout).toContain('hook exit: 0');
      // (iptables-nft leaves its own empty nat/filter tables behind when asked about chains.)
      expect(r.stdout).toContain('natplan tables after: []');
      expect(r.stdout).toContain('natplan mentions in the ruleset after: 0');
      expect(r.stdout).toContain('removed natplan rules');
    } finally {
      spawnSync('rm', ['-rf', dir]);
    }
  });
});
