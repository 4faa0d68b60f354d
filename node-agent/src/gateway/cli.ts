/**
 * A small command that holds one mapping, for tests and by hand, run inside the node's
 * network namespace (the request's source address is what the gateway maps to):
 *
 *   tsx node-agent/src/gateway/cli.ts --gateway 172.18.0.1 --protocol tcp --port 8080 --lifetime 60
 *
 * Prints one JSON line per event ({"event":"mapped",...}, "retrying", "refused"); on
 * SIGTERM it deletes the mapping, prints {"event":"released"} and exits. `--once` maps
 * once and exits (0 mapped, 2 refused, 3 no answer). `--third-party ADDR` asks for
 * another host (PCP THIRD_PARTY); `--prefer-failure` asks for exactly the suggested port; `--claim-address ADDR` writes ADDR instead of our own
 * address into the PCP header (what a NAT in the path would cause, or a host posing as
 * another); `--only pcp|nat-pmp` disables the fallback.
 */
import { randomBytes } from 'node:crypto';
import { parseArgs } from 'node:util';
import { PortMappingClient, type PortControlProtocol } from './client.js';
import { MappingLease } from './lease.js';
import { GatewayRefusal, GatewayTimeout } from './types.js';
import type { TransportProtocol } from './types.js';
import { connectGateway, systemClock } from './udp.js';

const { values } = parseArgs({
  options: {
    gateway: { type: 'string' },
    protocol: { type: 'string', default: 'tcp' },
    port: { type: 'string' },
    'external-port': { type: 'string', default: '0' },
    lifetime: { type: 'string', default: '120' },
    'third-party': { type: 'string' },
    'claim-address': { type: 'string' },
    'prefer-failure': { type: 'boolean', default: false },
    only: { type: 'string' },
    once: { type: 'boolean', default: false },
  },
});
if (values.gateway === undefined || values.port === undefined) throw new Error('--gateway and --port are required');
if (values.protocol !== 'tcp' && values.protocol !== 'udp') throw new Error('--protocol is tcp or udp');
const protocols: PortControlProtocol[] | undefined = values.only === 'pcp' || values.only === 'nat-pmp' ? [values.only] : undefined;

const print = (line: Record<string, unknown>) => process.stdout.write(`${JSON.stringify(line)}\n`);
const errorLine = (error: unknown) => error instanceof GatewayRefusal
  ? { reason: error.reason, via: error.via, resultCode: error.resultCode, message: error.message }
  : { message: error instanceof Error ? error.message : String(error) };

const request = {
  protocol: values.protocol as TransportProtocol,
  internalPort: Number(values.port),
  suggestedExternalPort: Number(values['external-port']),
  lifetimeSeconds: Number(values.lifetime),
};
const extras = {
  ...(values['third-party'] === undefined ? {} : { thirdPartyAddress: values['third-party'] }),
  ...(values['prefer-failure'] ? { preferFailure: true } : {}),
};
const connected = await connectGateway(values.gateway);
const claimed = values['claim-address'];
const datagrams = claimed === undefined ? connected : { ...connected, localAddress: () => claimed };
const client = new PortMappingClient({
  datagrams, clock: systemClock, randomNonce: () => new Uint8Array(randomBytes(12)), ...(protocols ? { protocols } : {}),
});

if (values.once) {
  try {
    print({ event: 'mapped', ...(await client.map(request, extras)) });
    process.exitCode = 0;
  } catch (error) {
    print({ event: error instanceof GatewayRefusal ? 'refused' : 'failed', ...errorLine(error) });
    process.exitCode = error instanceof GatewayRefusal ? 2 : error instanceof GatewayTimeout ? 3 : 1;
  }
  datagrams.close();
} else {
  const lease = new MappingLease(client, systemClock, request, (event) => {
    if (event.type === 'mapped') print({ event: 'mapped', renewal: event.renewal, nextRenewalMs: event.nextRenewalMs, ...event.mapping });
    else print({ event: event.type, ...errorLine(event.error) });
  }, extras);
  process.once('SIGTERM', () => {
    lease.release().then(
      () => print({ event: 'released' }),
      (error: unknown) => print({ event: 'release-failed', ...errorLine(error) }),
    ).finally(() => { datagrams.close(); process.exit(0); });
  });
  lease.start();
}
