import { createApplier } from '../../src/applier/index.js';
import type { Applier, ApplierOptions } from '../../src/applier/index.js';
import type { Backend, Exec } from '../../src/exec/index.js';
import type { RenderInput } from '../../src/render/index.js';
import type { Host } from '@natplan/e2e/netns';

/** One backend under test: how to make its applier, and how to wreck its rules from outside. */
export interface BackendCase {
  /** Shown in test names. */
  readonly name: string;
  readonly backend: Backend;
  create(exec: Exec, options?: ApplierOptions): Applier<RenderInput>;
  /** Simulates an admin or another tool flushing our rules (drift). */
  sabotage(node: Host): Promise<void>;
}

export const BACKENDS: readonly BackendCase[] = [
  {
    name: 'nftables',
    backend: 'nftables',
    create: (exec, options) => createApplier('nftables', exec, options),
    // Chains only: `flush table` keeps set elements, which is what a hurried admin gets.
    sabotage: async (node) => { await node.run(['nft', 'flush', 'table', 'ip', 'natplan']); },
  },
  {
    name: 'iptables',
    backend: 'iptables',
    create: (exec, options) => createApplier('iptables', exec, options),
    // Flushing the built-in chains removes our hook jumps: everything natplan does stops.
    sabotage: async (node) => { await node.run(['iptables', '-t', 'nat', '-F', 'PREROUTING']); },
  },
  {
    // The same iptables rules through the x_tables userspace, for hosts that use it.
    name: 'iptables-legacy',
    backend: 'iptables',
    create: (exec, options) => createApplier('iptables', exec, { ...options, iptablesVariant: 'legacy' }),
    sabotage: async (node) => { await node.run(['iptables-legacy', '-t', 'nat', '-F', 'PREROUTING']); },
  },
];
