/**
 * NAT-PMP (RFC 6886), PCP's predecessor, as pure functions over bytes: the external
 * address request, MAP UDP/TCP (opcodes 1 and 2) and delete (lifetime 0). Used when the
 * gateway answers PCP with "unsupported version" or not at all (RFC 6887 section 9).
 */
import { decodeIPv4 } from './address.js';
import { GatewayRefusal } from './types.js';
import type { GrantedMapping, MappingRequest, RefusalReason, TransportProtocol } from './types.js';

export const NATPMP_VERSION = 0;
export const NATPMP_PORT = 5351;
export const NATPMP_OPCODE_EXTERNAL_ADDRESS = 0;
const MAP_OPCODE: Record<TransportProtocol, number> = { udp: 1, tcp: 2 };

/** Result codes of section 3.5. */
export const NatPmpResult = {
  SUCCESS: 0,
  UNSUPPORTED_VERSION: 1,
  NOT_AUTHORIZED: 2,
  NETWORK_FAILURE: 3,
  OUT_OF_RESOURCES: 4,
  UNSUPPORTED_OPCODE: 5,
} as const;

const REFUSALS: Record<number, RefusalReason> = {
  [NatPmpResult.UNSUPPORTED_VERSION]: 'unsupported',
  [NatPmpResult.NOT_AUTHORIZED]: 'not-authorized',
  [NatPmpResult.NETWORK_FAILURE]: 'network-failure',
  [NatPmpResult.OUT_OF_RESOURCES]: 'no-resources',
  [NatPmpResult.UNSUPPORTED_OPCODE]: 'unsupported',
};

export function encodeExternalAddressRequest(): Uint8Array {
  return Uint8Array.of(NATPMP_VERSION, NATPMP_OPCODE_EXTERNAL_ADDRESS);
}

/** A mapping request (section 3.3); lifetime 0 with external port 0 deletes (section 3.4). */
export function encodeNatPmpMapRequest(request: MappingRequest): Uint8Array {
  const message = new Uint8Array(12);
  const view = new DataView(message.buffer);
  message[0] = NATPMP_VERSION;
  message[1] = MAP_OPCODE[request.protocol];
  view.setUint16(4, request.internalPort);
  view.setUint16(6, request.lifetimeSeconds === 0 ? 0 : request.suggestedExternalPort);
  view.setUint32(8, request.lifetimeSeconds);
  return message;
}

export type NatPmpResponse =
  | { readonly kind: 'external-address'; readonly resultCode: number; readonly epochSeconds: number; readonly externalAddress: string }
  | {
    readonly kind: 'map'; readonly protocol: TransportProtocol; readonly resultCode: number; readonly epochSeconds: number;
    readonly internalPort: number; readonly externalPort: number; readonly lifetimeSeconds: number;
  };

/** Reads a NAT-PMP answer; undefined for anything else (a request, a short or foreign datagram). */
export function decodeNatPmpResponse(datagram: Uint8Array): NatPmpResponse | undefined {
  if (datagram.length < 8 || datagram[0] !== NATPMP_VERSION) return undefined;
  const opcode = datagram[1]!;
  if ((opcode & 0x80) === 0) return undefined;
  const view = new DataView(datagram.buffer, datagram.byteOffset, datagram.byteLength);
  const resultCode = view.getUint16(2);
  const epochSeconds = view.getUint32(4);
  const op = opcode & 0x7f;
  if (op === NATPMP_OPCODE_EXTERNAL_ADDRESS) {
    const externalAddress = datagram.length >= 12 ? decodeIPv4(datagram.subarray(8, 12)) : '';
    return { kind: 'external-address', resultCode, epochSeconds, externalAddress };
  }
  const protocol = op === MAP_OPCODE.udp ? 'udp' : op === MAP_OPCODE.tcp ? 'tcp' : undefined;
  if (protocol === undefined) return undefined;
  const full = datagram.length >= 16;
  return {
    kind: 'map', protocol, resultCode, epochSeconds,
    internalPort: full ? view.getUint16(8) : 0,
    externalPort: full ? view.getUint16(10) : 0,
    lifetimeSeconds: full ? view.getUint32(12) : 0,
  };
}

/** Throws the typed refusal for a non-success result code. */
export function checkNatPmpResult(resultCode: number): void {
  if (resultCode === NatPmpResult.SUCCESS) return;
  throw new GatewayRefusal(REFUSALS[resultCode] ?? 'unsupported', 'nat-pmp', resultCode);
}

/** A successful map answer plus the separately learned external address, as a mapping. */
export function natPmpMapping(response: Extract<NatPmpResponse, { kind: 'map' }>, externalAddress: string): GrantedMapping {
  checkNatPmpResult(response.resultCode);
  return {
    via: 'nat-pmp',
    protocol: response.protocol,
    internalPort: response.internalPort,
    externalPort: response.externalPort,
    externalAddress,
    lifetimeSeconds: response.lifetimeSeconds,
    epochSeconds: response.epochSeconds,
  };
}
