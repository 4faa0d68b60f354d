/**
 * The kubelet's cgroup root in every cgroup hierarchy of the machine (cgroup v1 hybrid:
 * one mount per controller plus name=systemd and the unified one), created before the
 * kubelet starts and removed, with everything in it, when the node stops.
 */
import { existsSync, mkdirSync, readFileSync, readdirSync, rmdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const CGROUP_FS = '/sys/fs/cgroup';

/** Mount points of the cgroup hierarchies (/sys/fs/cgroup/<name>). */
export function hierarchies(): string[] {
  return readFileSync('/proc/self/mounts', 'utf8').split('\n')
    .map((line) => line.split(' '))
    .filter((f) => (f[2] === 'cgroup' || f[2] === 'cgroup2') && f[1]?.startsWith(`${CGROUP_FS}/`))
    .map((f) => f[1] as string);
}

/** Creates `/<name>` in every hierarchy; cpuset needs its cpus and mems before it holds tasks. */
export function createCgroupRoot(name: string): void {
  for (const h of hierarchies()) {
    const dir = join(h, name);
    mkdirSync(dir, { recursive: true });
    if (existsSync(join(dir, 'cpuset.cpus'))) {
      for (const f of ['cpuset.cpus', 'cpuset.mems']) writeFileSync(join(dir, f), readFileSync(join(h, f), 'utf8').trim() || '0');
    }
  }
}

/** Every cgroup directory under `/<name>`, deepest first, in every hierarchy. */
function cgroupDirs(name: string): string[] {
  const out: string[] = [];
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir)) {
      const child = join(dir, entry);
      try { if (statSync(child).isDirectory()) walk(child); } catch { /* removed meanwhile */ }
    }
    out.push(dir);
  };
  for (const h of hierarchies()) if (existsSync(join(h, name))) walk(join(h, name));
  return out;
}

/** Pids of the processes in the cgroup root's subtree. */
export function cgroupPids(name: string): number[] {
  const pids = new Set<number>();
  for (const dir of cgroupDirs(name)) {
    try {
      for (const line of readFileSync(join(dir, 'cgroup.procs'), 'utf8').split('\n')) if (line) pids.add(Number(line));
    } catch { /* gone */ }
  }
  return [...pids];
}

/** Removes the cgroup root's subtree (its processes must be gone); returns what is left. */
export function removeCgroupRoot(name: string): string[] {
  for (const dir of cgroupDirs(name)) {
    try { rmdirSync(dir); } catch { /* busy or gone: reported below */ }
  }
  return hierarchies().map((h) => join(h, name)).filter((dir) => existsSync(dir));
}

/** Cgroup roots of earlier runs whose test process is dead (`<prefix><pid>-...`). */
export function staleCgroupRoots(prefix: string): string[] {
  const names = new Set<string>();
  for (const h of hierarchies()) {
    for (const entry of readdirSync(h)) {
      const match = new RegExp(`^${prefix}(\\d+)-`).exec(entry);
      if (match && !existsSync(`/proc/${match[1]}`)) names.add(entry);
    }
  }
  return [...names];
}
