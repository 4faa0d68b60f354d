/**
 * Shared vocabulary of the gateway port-mapping client (issue 11): what a node asks the
 * NAT device in front of it for, and what it gets back. Plain data only.
 */

export type TransportProtocol = 'tcp' | 'udp';

/** The protocol that answered: PCP (RFC 6887), its predecessor NAT-PMP (RFC 6886), or UPnP IGD (upnp.ts). */
export type MappingProtocol = 'pcp' | 'nat-pmp' | 'upnp-igd';

/** IANA protocol numbers, as PCP carries them. */
export const IP_PROTOCOL_NUMBER: Record<TransportProtocol, number> = { tcp: 6, udp: 17 };

export interface MappingRequest {
  readonly protocol: TransportProtocol;
  readonly internalPort: number;
  /** 0 lets the gateway choose; most gateways try the internal port first. */
  readonly suggestedExternalPort: number;
  /** Seconds asked for; the gateway may grant less (or more). 0 deletes. */
  readonly lifetimeSeconds: number;
}

/** A mapping the gateway granted. */
export interface GrantedMapping {
  readonly via: MappingProtocol;
  readonly protocol: TransportProtocol;
  readonly internalPort: number;
  readonly externalPort: number;
  /** The gateway's external address (PCP returns it with the mapping; NAT-PMP asks separately). */
  readonly externalAddress: string;
  /** Seconds granted; renew at half (RFC 6887 section 11.2.1). */
  readonly lifetimeSeconds: number;
  /** Seconds since the gateway's mapping state began; a jump backwards means it lost its mappings. */
  readonly epochSeconds: number;
}

/**
 * Why a gateway said no, one name per cause a caller acts on differently:
 * - `not-authorized`: policy forbids it (an allow/deny list, a third party); do not retry.
 * - `port-unavailable`: the external port is taken or cannot be provided; try another or report.
 * - `no-resources`: out of mappings or quota; retry later.
 * - `network-failure`: the gateway has no external address yet; retry later.
 * - `address-mismatch`: a NAT between node and gateway rewrote our address; PCP cannot work here.
 * - `unsupported`: the gateway does not know the version/opcode/option/protocol.
 * - `malformed`: the gateway could not parse the request (a bug on our side).
 */
export type RefusalReason =
  | 'not-authorized' | 'port-unavailable' | 'no-resources' | 'network-failure'
  | 'address-mismatch' | 'unsupported' | 'malformed';

/** Causes that can heal by themselves; the others need a change of request or configuration. */
export const TRANSIENT_REFUSALS: ReadonlySet<RefusalReason> = new Set(['no-resources', 'network-failure']);

/** A typed refusal from the gateway (the request arrived and was answered "no"). */
export class GatewayRefusal extends Error {
  override readonly name = 'GatewayRefusal';
  constructor(
    readonly reason: RefusalReason,
    readonly via: MappingProtocol,
    /** The protocol's own result code, for logs. */
    readonly resultCode: number,
    /** Seconds the gateway says the answer holds (PCP error lifetime); 0 when not given. */
    readonly retryAfterSeconds = 0,
  ) {
    super(`gateway refused (${via} result ${resultCode}): ${reason}`);
  }

  get transient(): boolean {
    return TRANSIENT_REFUSALS.has(this.reason);
  }
}

/** No answer from the gateway within the retransmission budget. */
export class GatewayTimeout extends Error {
  override readonly name = 'GatewayTimeout';
  constructor(readonly via: MappingProtocol, readonly attempts: number, readonly elapsedMs: number) {
    super(`no ${via} answer from the gateway after ${attempts} attempts (${elapsedMs} ms)`);
  }
}

/** The gateway answered with a version of the protocol we do not speak: fall back (RFC 6887 section 9). */
export class UnsupportedVersion extends Error {
  override readonly name = 'UnsupportedVersion';
  constructor(readonly serverVersion: number) {
    super(`gateway does not speak PCP version 2 (answered version ${serverVersion})`);
  }
}
