import { conntrackDeleteUdp } from '../exec/index.js';
import type { Exec } from '../exec/index.js';
import type { StaleUdpEndpoint } from './types.js';

/**
 * Deletes the UDP flows NATed to endpoints that the new rules no longer use. Runs only
 * after the commit: deleting earlier would let the next packet recreate the entry with
 * the old rules. Each endpoint is independent, so one failure does not stop the others.
 */
export async function clearStaleUdp(exec: Exec, endpoints: readonly StaleUdpEndpoint[]): Promise<Error[]> {
  const errors: Error[] = [];
  for (const endpoint of endpoints) {
    try {
      await conntrackDeleteUdp(exec, endpoint);
    } catch (error) {
      errors.push(error instanceof Error ? error : new Error(String(error)));
    }
  }
  return errors;
}
