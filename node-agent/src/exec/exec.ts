import { spawn } from 'node:child_process';
import { ExecError, classifyFailure } from './errors.js';

/**
 * Where commands run. Every caller must say it: the production agent runs in the host's
 * own namespace ('host'); tests and benchmarks name a namespace they created, so a
 * forgotten option can never put test rules into the machine's own namespace.
 */
export type ExecTarget = 'host' | { readonly netns: string };

export interface RunOptions {
  /** Written to the command's stdin (nft -f -, iptables-restore). */
  readonly stdin?: string;
  /** Kill the command after this long; nft holding the netlink lock forever must not hang a sync. */
  readonly timeoutMs?: number;
}

export interface ExecResult {
  readonly stdout: string;
  readonly stderr: string;
}

/** The exec boundary: runs one command, resolves on exit 0, rejects with a classified ExecError. */
export interface Exec {
  readonly target: ExecTarget;
  run(argv: readonly string[], options?: RunOptions): Promise<ExecResult>;
}

const DEFAULT_TIMEOUT_MS = 60_000;

export function createExec(target: ExecTarget): Exec {
  return {
    target,
    run: (argv, options = {}) => runProcess(withTarget(target, argv), options),
  };
}

/** `ip netns exec NAME` replaces itself with the command, so the pid we hold is the tool's. */
export function withTarget(target: ExecTarget, argv: readonly string[]): readonly string[] {
  return target === 'host' ? argv : ['ip', 'netns', 'exec', target.netns, ...argv];
}

function runProcess(argv: readonly string[], options: RunOptions): Promise<ExecResult> {
  const [file, ...args] = argv;
  if (file === undefined) return Promise.reject(new Error('exec: empty command'));
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    const stdout: Buffer[] = [];
    const stderr: Buffer[] = [];
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, options.timeoutMs ?? DEFAULT_TIMEOUT_MS);
    child.stdout.on('data', (chunk: Buffer) => stdout.push(chunk));
    child.stderr.on('data', (chunk: Buffer) => stderr.push(chunk));
    child.on('error', (error: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      const kind = error.code === 'ENOENT' ? 'missingBinary' : error.code === 'EACCES' ? 'permission' : 'other';
      reject(new ExecError(kind, argv, error.message, null));
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      const out = Buffer.concat(stdout).toString('utf8');
      const err = Buffer.concat(stderr).toString('utf8');
      if (timedOut) reject(new ExecError('other', argv, `timed out after ${options.timeoutMs ?? DEFAULT_TIMEOUT_MS} ms\n${err}`, code));
      else if (code === 0) resolve({ stdout: out, stderr: err });
      else reject(new ExecError(classifyFailure(err), argv, err, code));
    });
    // A tool that exits before reading all of stdin (bad option) raises EPIPE here; the
    // exit code and stderr tell the real story, so the write error itself is ignored.
    child.stdin.on('error', () => {});
    child.stdin.end(options.stdin ?? '');
  });
}
