/**
 * The list of gateway port mappings the agent holds, kept in a file on the node so that
 * `natplan cleanup` (after the agent is gone, at uninstall) can delete them at the
 * gateway instead of leaving them until they expire. The agent rewrites it (atomically,
 * by rename) whenever the list changes; cleanup deletes what it lists, then the file.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { createExec, type ExecTarget } from '../exec/index.js';
import { PortMappingClient } from './client.js';
import type { HeldMapping } from './mappings.js';
import { gatewayDatagrams } from './netns-socket.js';
import { systemClock } from './udp.js';
import { execHttp } from './upnp-http.js';
import { SSDP_PORT, UpnpIgdMapper } from './upnp.js';

export async function writeHeldMappings(path: string, held: readonly HeldMapping[]): Promise<void> {
  const sorted = [...held].sort((a, b) => a.gateway.localeCompare(b.gateway) || a.protocol.localeCompare(b.protocol) || a.internalPort - b.internalPort);
  if (sorted.length === 0) {
    await rm(path, { force: true });
    return;
  }
  await mkdir(dirname(path), { recursive: true });
  const temporary = `${path}.${process.pid}.tmp`;
  await writeFile(temporary, `${JSON.stringify({ mappings: sorted })}\n`);
  await rename(temporary, path);
}

export async function readHeldMappings(path: string): Promise<HeldMapping[]> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
  const parsed = JSON.parse(text) as { mappings?: HeldMapping[] };
  return (parsed.mappings ?? []).filter((m) => typeof m.gateway === 'string' && (m.protocol === 'tcp' || m.protocol === 'udp') && Number.isInteger(m.internalPort)
    && (m.nonce === undefined || /^[0-9a-f]{24}$/.test(m.nonce)) && (m.via === undefined || ['pcp', 'nat-pmp', 'upnp-igd'].includes(m.via)));
}

/**
 * Deletes every listed mapping at its gateway (PCP or NAT-PMP, whichever answers; UPnP IGD
 * for those it granted), from
 * `target`'s network, then the file. Returns what could not be deleted; those expire at
 * the end of their lifetime.
 */
export async function releaseHeldMappings(target: ExecTarget, path: string): Promise<{ released: number; errors: Error[] }> {
  const held = await readHeldMappings(path);
  const errors: Error[] = [];
  let released = 0;
  for (const gateway of [...new Set(held.map((m) => m.gateway))]) {
    let datagrams;
    try {
      datagrams = await gatewayDatagrams(target, gateway);
    } catch (error) {
      errors.push(error instanceof Error ? error : new Error(String(error)));
      continue;
    }
    const client = new PortMappingClient({ datagrams, clock: systemClock, randomNonce: () => new Uint8Array(randomBytes(12)) });
    let upnp: UpnpIgdMapper | undefined;
    for (const m of held.filter((h) => h.gateway === gateway)) {
      try {
        if (m.via === 'upnp-igd') {
          upnp ??= new UpnpIgdMapper({ ssdp: await gatewayDatagrams(target, gateway, SSDP_PORT), http: execHttp(createExec(target)), clock: systemClock, internalClient: datagrams.localAddress() });
          await upnp.unmap({ protocol: m.protocol, internalPort: m.internalPort });
          released++;
          continue;
        }
        if (m.nonce) client.adoptNonce(m, new Uint8Array(Buffer.from(m.nonce, 'hex')));
        await client.unmap({ protocol: m.protocol, internalPort: m.internalPort });
        released++;
      } catch (error) {
        errors.push(new Error(`deleting ${m.protocol}/${m.internalPort} at ${gateway}: ${error instanceof Error ? error.message : String(error)}`));
      }
    }
    datagrams.close();
    upnp?.close();
  }
  await rm(path, { force: true });
  return { released, errors };
}
