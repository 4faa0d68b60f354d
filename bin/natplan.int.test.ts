/**
 * The CLI as a user meets it: `npx tsx bin/natplan.ts ...` run as a child process. Each
 * failure to start must be one line on stderr (JSON log lines aside) and a non-zero exit
 * code: 2 for a command line that cannot run, 1 for a start that failed.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { createServer as createTcpServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import packageJson from '../package.json' with { type: 'json' };

const CLI = fileURLToPath(new URL('./natplan.ts', import.meta.url));
// No test here may reach the machine's rules: the agent is pointed at a namespace that
// does not exist, and none of these runs gets past its start anyway.
const ABSENT_NETNS = '--netns=natplan-cli-test-absent';

interface Run { code: number | null; stdout: string; stderr: string; problems: string[] }

/** Runs the CLI; `until` may end it early (SIGKILL) once its output says enough. */
function natplan(args: string[], until?: (run: Run) => boolean): Promise<Run> {
  return new Promise((resolve, reject) => {
    const env = { ...process.env, KUBECONFIG: '', KUBERNETES_SERVICE_HOST: '', KUBERNETES_SERVICE_PORT: '' };
    const child = spawn(process.execPath, ['--import', 'tsx', CLI, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    const run: Run = { code: null, stdout: '', stderr: '', problems: [] };
    const update = () => {
      // JSON lines are the structured log; everything else is what a person reads.
      run.problems = run.stderr.split('\n').filter((line) => line && !line.startsWith('{'));
      if (until?.(run)) child.kill('SIGKILL');
    };
    child.stdout.on('data', (d: Buffer) => { run.stdout += d.toString(); update(); });
    child.stderr.on('data', (d: Buffer) => { run.stderr += d.toString(); update(); });
    child.on('error', reject);
    child.on('close', (code) => { run.code = code; update(); resolve(run); });
  });
}

async function closedPort(): Promise<number> {
  const server = createTcpServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

const dir = mkdtempSync(join(tmpdir(), 'natplan-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function kubeconfigFor(server: string): string {
  const path = join(dir, `kubeconfig-${server.replace(/\W/g, '_')}`);
  writeFileSync(path, [
    'apiVersion: v1', 'kind: Config', 'current-context: c',
    `clusters: [{name: k, cluster: {server: "${server}"${server.startsWith('http:') ? ', insecure-skip-tls-verify: true' : ''}}}]`,
    'users: [{name: u, user: {token: t}}]',
    'contexts: [{name: c, context: {cluster: k, user: u}}]',
  ].join('\n'));
  return path;
}

describe('natplan CLI', () => {
  it.each([['operator'], ['agent'], ['cleanup'], ['cleanup-wait']])('%s answers -h, --help and --version with exit code 0', async (command) => {
    for (const flag of ['-h', '--help']) {
      const help = await natplan([command, flag]);
      expect(help.code).toBe(0);
      expect(help.stdout).toMatch(new RegExp(`^natplan ${command}: `));
      expect(help.stdout).toContain('--kubeconfig');
    }
    const version = await natplan([command, '--version']);
    expect(version).toMatchObject({ code: 0, stdout: `natplan ${packageJson.version}\n` });
  });

  it('answers --help and --version at the top level, and refuses an unknown command with exit code 2', async () => {
    expect(await natplan(['--version'])).toMatchObject({ code: 0, stdout: `natplan ${packageJson.version}\n` });
    expect((await natplan(['--help'])).stdout).toMatch(/^usage: natplan operator\|agent/);
    const unknown = await natplan(['operatr']);
    expect(unknown.code).toBe(2);
    expect(unknown.problems).toEqual([expect.stringMatching(/^natplan: unknown command "operatr"; usage:/)]);
  });

  it.each([
    [['operator', '-mode=complement'], 'natplan operator: -mode=complement: long flags take two dashes (--mode=complement) (see natplan operator --help)'],
    [['agent', '--node-name=n', '--no-such-flag'], 'natplan agent: unknown flag --no-such-flag (see natplan agent --help)'],
    [['cleanup', 'now'], 'natplan cleanup: unexpected argument "now" (see natplan cleanup --help)'],
    [['cleanup-wait', '-namespace=x'], 'natplan cleanup-wait: -namespace=x: long flags take two dashes (--namespace=x) (see natplan cleanup-wait --help)'],
  ])('%j exits 2 with one line', async (args, line) => {
    const run = await natplan(args);
    expect(run.code).toBe(2);
    expect(run.problems).toEqual([line]);
  });

  it.each([['operator'], ['agent'], ['cleanup-wait']])('%s with a kubeconfig that does not exist exits 1 with one line', async (command) => {
    const missing = join(dir, 'no-such-kubeconfig');
    const run = await natplan([command, `--kubeconfig=${missing}`, '--node-name=n', ABSENT_NETNS, '--namespace=ns', '--daemonset=ds'].filter((a) => command === 'agent' || !/node-name|netns/.test(a)).filter((a) => command === 'cleanup-wait' || !/namespace=|daemonset/.test(a)));
    expect(run.code).toBe(1);
    expect(run.problems).toEqual([`natplan ${command}: kubeconfig ${missing} does not exist`]);
  });

  it.each([['operator'], ['agent']])('%s with an unreachable API server retries with backoff, then exits 1 with one line', async (command) => {
    const server = `https://127.0.0.1:${await closedPort()}`;
    const args = [command, `--kubeconfig=${kubeconfigFor(server)}`, '--startup-timeout=3s', ...(command === 'agent' ? ['--node-name=n', ABSENT_NETNS] : [])];
    const run = await natplan(args);
    expect(run.code).toBe(1);
    expect(run.problems).toEqual([expect.stringMatching(new RegExp(`^natplan ${command}: cannot reach the API server ${server} \\(gave up after \\d+ attempts in 3s\\): .*ECONNREFUSED`))]);
    const retries = run.stderr.split('\n').filter((line) => line.includes('API server not reachable; retrying')).map((line) => JSON.parse(line) as { retryInMs: number });
    // 500ms, 1s, then what is left of 3s: a backoff, not a tight loop.
    expect(retries.length).toBeGreaterThanOrEqual(2);
    expect(retries.length).toBeLessThanOrEqual(4);
    expect(retries[1]!.retryInMs).toBeGreaterThan(retries[0]!.retryInMs);
  });

  it('agent keeps running while its first list fails and retries (no exit 13 "unsettled top-level await")', async () => {
    // Answers /version (the start probe passes) and fails every list, so the informers
    // wait on the controller-kit clock, whose timers do not hold the process open.
    const lists: string[] = [];
    const api: Server = createServer((req, res) => {
      if (req.url === '/version') {
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ major: '1', minor: '34', gitVersion: 'v1.34.4' }));
        return;
      }
      lists.push(req.url ?? '');
      res.writeHead(503, { 'content-type': 'application/json' }).end(JSON.stringify({ kind: 'Status', apiVersion: 'v1', status: 'Failure', code: 503, message: 'test: unavailable' }));
    });
    await new Promise<void>((resolve) => api.listen(0, '127.0.0.1', resolve));
    try {
      const server = `http://127.0.0.1:${(api.address() as AddressInfo).port}`;
      // Two informers ask once each at start; a third request means the process outlived
      // a retry wait.
      const repeated = () => lists.length >= 3;
      const run = await natplan(['agent', `--kubeconfig=${kubeconfigFor(server)}`, '--node-name=n', ABSENT_NETNS], () => repeated());
      expect(repeated()).toBe(true);
      expect(run.code).toBeNull(); // killed by the test, not exited by itself
    } finally {
      await new Promise((resolve) => api.close(resolve));
    }
  });
});
