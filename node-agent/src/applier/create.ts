import { detectBackend } from '../exec/index.js';
import type { Backend, BackendPreference, Exec } from '../exec/index.js';
import type { RenderInput } from '../render/index.js';
import { IptablesApplier } from './iptables-applier.js';
import { NftApplier } from './nft-applier.js';
import { storeIptablesPort, storeNftablesPort } from './render-ports.js';
import type { Applier, ApplierOptions } from './types.js';

/** The applier for a known backend, wired to the real renderers. */
export function createApplier(backend: Backend, exec: Exec, options: ApplierOptions = {}): Applier<RenderInput> {
  return backend === 'nftables' ? new NftApplier(exec, storeNftablesPort(), options) : new IptablesApplier(exec, storeIptablesPort(), options);
}

/**
 * Detects the backend (NodeNatPlan `spec.backend`: auto, nftables or iptables) and builds
 * its applier. Rejects with an ExecError naming what is missing when neither works: the
 * controller reports that as `Degraded`.
 */
export async function createDetectedApplier(
  exec: Exec, preference: BackendPreference = 'auto', options: ApplierOptions = {},
): Promise<Applier<RenderInput>> {
  return createApplier(await detectBackend(exec, preference), exec, options);
}
