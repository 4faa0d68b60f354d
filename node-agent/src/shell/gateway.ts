/**
 * Wires the gateway port mappings into the agent: finds the gateway (the node's default
 * route, or --gateway), talks to it from the node's network (PCP, then NAT-PMP, then UPnP IGD), and keeps
 * the list of held mappings on disk for `natplan cleanup`.
 */
import { randomBytes } from 'node:crypto';
import type { JsonLogger } from '@natplan/controller-kit';
import type { NodeNatPlanGatewayMapping } from '@natplan/api';
import type { AgentConfig } from '../config.js';
import type { Exec } from '../exec/index.js';
import { PortMappingClient, systemClock } from '../gateway/index.js';
import { findGateway } from '../gateway/discover.js';
import { ExactPortMapper } from '../gateway/exact-port.js';
import { FallbackMapper } from '../gateway/fallback.js';
import { readHeldMappings, writeHeldMappings } from '../gateway/held-file.js';
import { GatewayMappings, type HeldMapping } from '../gateway/mappings.js';
import { gatewayDatagrams } from '../gateway/netns-socket.js';
import { execHttp } from '../gateway/upnp-http.js';
import { SSDP_PORT, UpnpIgdMapper } from '../gateway/upnp.js';

export async function startGatewayMappings(
  config: AgentConfig, exec: Exec, logger: JsonLogger, onChange: () => void, previousReport: () => readonly NodeNatPlanGatewayMapping[] | undefined,
): Promise<GatewayMappings | undefined> {
  if (config.gateway === 'none') return undefined;
  const previouslyHeld = config.gatewayStateFile
    ? await readHeldMappings(config.gatewayStateFile).catch((err: unknown) => { logger.warn('cannot read the gateway mapping list; starting afresh', { err }); return []; })
    : [];
  // Writes run one after another, each with the newest list.
  let writing: Promise<void> = Promise.resolve();
  let lastWritten = '';
  const persist = (held: readonly HeldMapping[]) => {
    const text = JSON.stringify(held);
    if (!config.gatewayStateFile || text === lastWritten) return;
    lastWritten = text;
    writing = writing.then(() => writeHeldMappings(config.gatewayStateFile, held)).catch((err: unknown) => logger.error('cannot write the gateway mapping list', { err, file: config.gatewayStateFile }));
  };
  return new GatewayMappings({
    connect: async () => {
      const gateway = await findGateway(exec, config.gateway);
      if (gateway === undefined) return undefined;
      const datagrams = await gatewayDatagrams(exec.target, gateway);
      const client = new PortMappingClient({ datagrams, clock: systemClock, randomNonce: () => new Uint8Array(randomBytes(12)) });
      logger.info('asking the gateway for port mappings', { gateway, from: datagrams.localAddress() });
      // UPnP IGD last, when neither PCP nor NAT-PMP answers; it maps to the address PCP would.
      const ssdp = await gatewayDatagrams(exec.target, gateway, SSDP_PORT);
      const upnp = new UpnpIgdMapper({ ssdp, http: execHttp(exec), clock: systemClock, internalClient: datagrams.localAddress() });
      return {
        gateway,
        mapper: new FallbackMapper([new ExactPortMapper(client), upnp]),
        nonces: {
          get: (m) => { const nonce = client.nonceOf(m); return nonce && Buffer.from(nonce).toString('hex'); },
          adopt: (m, hex) => client.adoptNonce(m, new Uint8Array(Buffer.from(hex, 'hex'))),
        },
        close: () => { datagrams.close(); ssdp.close(); },
      };
    },
    clock: systemClock,
    lifetimeSeconds: config.gatewayLifetimeSeconds,
    retryMs: config.gatewayRetryMs,
    onChange,
    onHeld: persist,
    onError: (message, err) => logger.warn(message, { err }),
    onStateLost: (gateway) => logger.info('the gateway lost its mappings (its epoch went back); asking for all of them again', { gateway }),
    previouslyHeld,
    previousReport,
  });
}
