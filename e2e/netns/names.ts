import { createExec } from '@natplan/node-agent/exec';

/**
 * Namespace names: `np-<pid>-<run>-<role>`. The pid lets a later run tell namespaces of
 * a dead test process (stale, safe to remove) from those of a live one (leave alone).
 */
export const NAMESPACE_PREFIX = 'np-';
let runCounter = 0;

export function newRunPrefix(): string {
  runCounter += 1;
  return `${NAMESPACE_PREFIX}${process.pid}-${runCounter}-`;
}

const host = createExec('host');

export async function listNamespaces(): Promise<string[]> {
  const { stdout } = await host.run(['ip', 'netns', 'list']);
  return stdout.split('\n').map((line) => line.split(' ')[0] ?? '').filter((name) => name !== '');
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Kills what still runs in a namespace, then deletes it (its veths go with it). */
export async function removeNamespace(name: string): Promise<void> {
  const pids = await host.run(['ip', 'netns', 'pids', name]).then((r) => r.stdout.split('\n').filter(Boolean), () => []);
  for (const pid of pids) {
    try {
      process.kill(Number(pid), 'SIGKILL');
    } catch {
      // already gone
    }
  }
  await host.run(['ip', 'netns', 'del', name]).catch(() => undefined);
}

/** Removes `np-<pid>-*` namespaces whose pid is dead: leftovers of a crashed run. */
export async function sweepStaleNamespaces(): Promise<string[]> {
  const stale = (await listNamespaces()).filter((name) => {
    const match = /^np-(\d+)-/.exec(name);
    return match !== null && !isAlive(Number(match[1]));
  });
  for (const name of stale) await removeNamespace(name);
  return stale;
}
