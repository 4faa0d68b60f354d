/**
 * PCP (RFC 6887) MAP requests and responses as pure functions over bytes. Only what a
 * node needs: MAP (create, renew, delete with lifetime 0), the THIRD_PARTY and
 * PREFER_FAILURE options, and result codes as typed refusals.
 */
import { decodePcpAddress, encodePcpAddress } from './address.js';
import { GatewayRefusal, IP_PROTOCOL_NUMBER, UnsupportedVersion } from './types.js';
import type { GrantedMapping, MappingRequest, RefusalReason, TransportProtocol } from './types.js';

export const PCP_VERSION = 2;
export const PCP_PORT = 5351;
export const PCP_OPCODE_MAP = 1;
/** Bytes of the common header (section 7.1) and of the MAP opcode body (section 11.1). */
export const PCP_HEADER_LENGTH = 24;
export const PCP_MAP_LENGTH = 36;
/** Largest PCP message (section 7). */
export const PCP_MAX_LENGTH = 1100;

export const PCP_OPTION_THIRD_PARTY = 1;
export const PCP_OPTION_PREFER_FAILURE = 2;

/** Result codes of section 7.4. */
export const PcpResult = {
  SUCCESS: 0,
  UNSUPP_VERSION: 1,
  NOT_AUTHORIZED: 2,
  MALFORMED_REQUEST: 3,
  UNSUPP_OPCODE: 4,
  UNSUPP_OPTION: 5,
  MALFORMED_OPTION: 6,
  NETWORK_FAILURE: 7,
  NO_RESOURCES: 8,
  UNSUPP_PROTOCOL: 9,
  USER_EX_QUOTA: 10,
  CANNOT_PROVIDE_EXTERNAL: 11,
  ADDRESS_MISMATCH: 12,
  EXCESSIVE_REMOTE_PEERS: 13,
} as const;

const REFUSALS: Record<number, RefusalReason> = {
  [PcpResult.NOT_AUTHORIZED]: 'not-authorized',
  [PcpResult.MALFORMED_REQUEST]: 'malformed',
  [PcpResult.UNSUPP_OPCODE]: 'unsupported',
  [PcpResult.UNSUPP_OPTION]: 'unsupported',
  [PcpResult.MALFORMED_OPTION]: 'malformed',
  [PcpResult.NETWORK_FAILURE]: 'network-failure',
  [PcpResult.NO_RESOURCES]: 'no-resources',
  [PcpResult.UNSUPP_PROTOCOL]: 'unsupported',
  [PcpResult.USER_EX_QUOTA]: 'no-resources',
  [PcpResult.CANNOT_PROVIDE_EXTERNAL]: 'port-unavailable',
  [PcpResult.ADDRESS_MISMATCH]: 'address-mismatch',
  [PcpResult.EXCESSIVE_REMOTE_PEERS]: 'no-resources',
};

export interface PcpMapRequest extends MappingRequest {
  /** Our own address as the gateway sees it: the source address of the request (section 8.1). */
  readonly clientAddress: string;
  /** 12 random bytes naming the mapping; a renewal or delete must repeat them (section 11.1). */
  readonly nonce: Uint8Array;
  /** Suggested external address; '0.0.0.0' (the default) for "any". */
  readonly suggestedExternalAddress?: string;
  /** Map for another host (THIRD_PARTY option, section 13.1); gateways refuse it unless allowed. */
  readonly thirdPartyAddress?: string;
  /** Fail instead of granting another port than the suggested one (PREFER_FAILURE, section 13.2). */
  readonly preferFailure?: boolean;
}

export function encodePcpMapRequest(request: PcpMapRequest): Uint8Array {
  if (request.nonce.length !== 12) throw new Error('a PCP nonce has 12 bytes');
  const options: Uint8Array[] = [];
  if (request.thirdPartyAddress !== undefined) options.push(option(PCP_OPTION_THIRD_PARTY, encodePcpAddress(request.thirdPartyAddress)));
  if (request.preferFailure) options.push(option(PCP_OPTION_PREFER_FAILURE, new Uint8Array(0)));
  const optionBytes = options.reduce((sum, o) => sum + o.length, 0);
  const message = new Uint8Array(PCP_HEADER_LENGTH + PCP_MAP_LENGTH + optionBytes);
  const view = new DataView(message.buffer);
  message[0] = PCP_VERSION;
  message[1] = PCP_OPCODE_MAP; // R bit 0: a request
  view.setUint32(4, request.lifetimeSeconds);
  message.set(encodePcpAddress(request.clientAddress), 8);
  message.set(request.nonce, 24);
  message[36] = IP_PROTOCOL_NUMBER[request.protocol];
  view.setUint16(40, request.internalPort);
  view.setUint16(42, request.suggestedExternalPort);
  message.set(encodePcpAddress(request.suggestedExternalAddress ?? '0.0.0.0'), 44);
  let offset = PCP_HEADER_LENGTH + PCP_MAP_LENGTH;
  for (const o of options) { message.set(o, offset); offset += o.length; }
  return message;
}

/** An option: code, reserved, 16-bit length, data padded to 4 bytes (section 7.3). */
function option(code: number, data: Uint8Array): Uint8Array {
  const padded = Math.ceil(data.length / 4) * 4;
  const bytes = new Uint8Array(4 + padded);
  bytes[0] = code;
  new DataView(bytes.buffer).setUint16(2, data.length);
  bytes.set(data, 4);
  return bytes;
}

/** A decoded MAP response, before it is judged. */
export interface PcpMapResponse {
  readonly version: number;
  readonly resultCode: number;
  readonly lifetimeSeconds: number;
  readonly epochSeconds: number;
  readonly nonce: Uint8Array;
  readonly protocolNumber: number;
  readonly internalPort: number;
  readonly externalPort: number;
  readonly externalAddress: string;
}

/**
 * Reads a datagram from the gateway. Returns undefined for what is not an answer to a
 * MAP request (too short, R bit clear, another opcode), so the caller keeps waiting.
 * A NAT-PMP-only gateway answers version 0 with an 8-byte header (RFC 6886 section 3.5):
 * that comes back with version 0, result code 1 and nothing else.
 */
export function decodePcpResponse(datagram: Uint8Array): PcpMapResponse | undefined {
  if (datagram.length < 4) return undefined;
  const version = datagram[0]!;
  const opcodeByte = datagram[1]!;
  if ((opcodeByte & 0x80) === 0) return undefined;
  const view = new DataView(datagram.buffer, datagram.byteOffset, datagram.byteLength);
  if (version !== PCP_VERSION) {
    // RFC 6887 section 9: another version's error answer still carries its result code
    // in byte 3 (PCP v1) or bytes 2-3 (NAT-PMP); all we need to know is "not version 2".
    return emptyResponse(version, version === 0 ? view.getUint16(2) : datagram[3]!);
  }
  if ((opcodeByte & 0x7f) !== PCP_OPCODE_MAP) return undefined;
  if (datagram.length < PCP_HEADER_LENGTH) return undefined;
  const resultCode = datagram[3]!;
  const lifetimeSeconds = view.getUint32(4);
  const epochSeconds = view.getUint32(8);
  if (datagram.length < PCP_HEADER_LENGTH + PCP_MAP_LENGTH) {
    // Errors may come without the opcode body (section 7.2: only "if possible").
    return { ...emptyResponse(version, resultCode), lifetimeSeconds, epochSeconds };
  }
  return {
    version, resultCode, lifetimeSeconds, epochSeconds,
    nonce: datagram.slice(24, 36),
    protocolNumber: datagram[36]!,
    internalPort: view.getUint16(40),
    externalPort: view.getUint16(42),
    externalAddress: decodePcpAddress(datagram.subarray(44, 60)),
  };
}

function emptyResponse(version: number, resultCode: number): PcpMapResponse {
  return {
    version, resultCode, lifetimeSeconds: 0, epochSeconds: 0, nonce: new Uint8Array(0),
    protocolNumber: 0, internalPort: 0, externalPort: 0, externalAddress: '',
  };
}

/** Whether a response answers this request (same nonce, protocol and internal port, section 11.3). */
export function answersRequest(response: PcpMapResponse, request: PcpMapRequest): boolean {
  if (response.version !== PCP_VERSION) return true;
  if (response.nonce.length === 0) return response.resultCode !== PcpResult.SUCCESS;
  return sameBytes(response.nonce, request.nonce)
    && response.protocolNumber === IP_PROTOCOL_NUMBER[request.protocol]
    && response.internalPort === request.internalPort;
}

/**
 * Judges a response: the granted mapping, or a thrown GatewayRefusal / UnsupportedVersion.
 * An error response without an opcode body still counts as an answer (it cannot be matched
 * by nonce; PCP error lifetimes say how long to wait before asking again).
 */
export function judgePcpResponse(response: PcpMapResponse, protocol: TransportProtocol): GrantedMapping {
  if (response.version !== PCP_VERSION || response.resultCode === PcpResult.UNSUPP_VERSION) {
    throw new UnsupportedVersion(response.version);
  }
  if (response.resultCode !== PcpResult.SUCCESS) {
    const reason = REFUSALS[response.resultCode] ?? 'unsupported';
    throw new GatewayRefusal(reason, 'pcp', response.resultCode, response.lifetimeSeconds);
  }
  return {
    via: 'pcp',
    protocol,
    internalPort: response.internalPort,
    externalPort: response.externalPort,
    externalAddress: response.externalAddress,
    lifetimeSeconds: response.lifetimeSeconds,
    epochSeconds: response.epochSeconds,
  };
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((byte, i) => byte === b[i]);
}
