/**
 * Child processes of the control plane: started with their output in a log file, stopped
 * with SIGTERM then SIGKILL. Every process is remembered so that an exiting test process
 * kills what it started even when a test failed before its teardown ran.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { openSync, closeSync, readFileSync } from 'node:fs';

export interface ManagedProcess {
  name: string;
  pid: number;
  logFile: string;
  child: ChildProcess;
  exited: Promise<number | null>;
  stop(): Promise<void>;
  /** The last lines of the log, for error messages. */
  tail(lines?: number): string;
}

const live = new Set<ManagedProcess>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', () => {
    for (const p of live) {
      try { process.kill(p.pid, 'SIGKILL'); } catch { /* already gone */ }
    }
  });
}

export function startProcess(name: string, command: string, args: string[], logFile: string, options: { detached?: boolean; env?: NodeJS.ProcessEnv } = {}): ManagedProcess {
  installExitHook();
  const fd = openSync(logFile, 'a');
  const child = spawn(command, args, { stdio: ['ignore', fd, fd], detached: options.detached ?? false, env: options.env ?? process.env });
  closeSync(fd);
  if (child.pid === undefined) throw new Error(`could not start ${name} (${command})`);
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const managed: ManagedProcess = {
    name,
    pid: child.pid,
    logFile,
    child,
    exited,
    tail: (lines = 20) => readFileSync(logFile, 'utf8').trimEnd().split('\n').slice(-lines).join('\n'),
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) { live.delete(managed); return; }
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(timer);
      live.delete(managed);
    },
  };
  // A detached process (the CLI's `start`) must outlive this one: do not wait for it, do not kill it on exit.
  if (options.detached) child.unref();
  else live.add(managed);
  void exited.then(() => live.delete(managed));
  return managed;
}
