/** What a detached control plane leaves in its directory so `control-plane stop` can end it. */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ControlPlane } from './control-plane.js';

export interface State { server: string; kubeconfigPath: string; pids: { name: string; pid: number }[] }

export function saveState(cp: ControlPlane): State {
  const state: State = { server: cp.server, kubeconfigPath: cp.kubeconfigPath, pids: cp.processes.map((p) => ({ name: p.name, pid: p.pid })) };
  writeFileSync(join(cp.dir, 'state.json'), JSON.stringify(state, null, 2));
  return state;
}

export function readState(dir: string): State | undefined {
  const file = join(dir, 'state.json');
  return existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as State) : undefined;
}
