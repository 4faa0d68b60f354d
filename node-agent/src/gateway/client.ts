/**
 * The port-mapping client: PCP first, NAT-PMP when the gateway does not speak PCP
 * (RFC 6887 section 9), one protocol remembered per gateway. No sockets or timers of its
 * own: it works on injected Datagrams and Clock (udp.ts has the real ones).
 *
 * UPnP IGD is a third way to ask the same thing; it is not implemented. A UPnP client
 * would implement `PortMapper` (the seam lease.ts depends on) with SSDP discovery and
 * SOAP AddPortMapping/DeletePortMapping/GetExternalIPAddress.
 */
import { NATPMP_RETRANSMIT, PCP_RETRANSMIT, exchange } from './exchange.js';
import type { Clock, Datagrams, RetransmitPolicy } from './exchange.js';
import {
  checkNatPmpResult, decodeNatPmpResponse, encodeExternalAddressRequest, encodeNatPmpMapRequest, natPmpMapping,
} from './natpmp.js';
import type { NatPmpResponse } from './natpmp.js';
import { answersRequest, decodePcpResponse, encodePcpMapRequest, judgePcpResponse } from './pcp.js';
import type { PcpMapRequest } from './pcp.js';
import { GatewayRefusal, GatewayTimeout, UnsupportedVersion } from './types.js';
import type { GrantedMapping, MappingProtocol, MappingRequest } from './types.js';

/** The two protocols this client speaks, over UDP port 5351. */
export type PortControlProtocol = Extract<MappingProtocol, 'pcp' | 'nat-pmp'>;

/** PCP-only request extras; NAT-PMP cannot express them, so they refuse as `unsupported` there. */
export interface MappingExtras {
  readonly thirdPartyAddress?: string;
  readonly preferFailure?: boolean;
}

/** What a lease needs from any mapping protocol: the seam a UPnP IGD client would fill. */
export interface PortMapper {
  map(request: MappingRequest, extras?: MappingExtras): Promise<GrantedMapping>;
  unmap(request: Omit<MappingRequest, 'lifetimeSeconds' | 'suggestedExternalPort'>): Promise<void>;
}

export interface PortMappingClientOptions {
  readonly datagrams: Datagrams;
  readonly clock: Clock;
  /** 12 random bytes per new mapping (the PCP nonce). */
  readonly randomNonce: () => Uint8Array;
  readonly pcpRetransmit?: RetransmitPolicy;
  readonly natPmpRetransmit?: RetransmitPolicy;
  /** Skip PCP (a gateway known to speak only NAT-PMP) or skip the fallback (tests, strict PCP). */
  readonly protocols?: readonly PortControlProtocol[];
}

export class PortMappingClient implements PortMapper {
  private speaks: PortControlProtocol | undefined;
  private readonly nonces = new Map<string, Uint8Array>();
  private readonly protocols: readonly PortControlProtocol[];

  constructor(private readonly options: PortMappingClientOptions) {
    this.protocols = options.protocols ?? ['pcp', 'nat-pmp'];
  }

  /** The protocol the gateway answered last, once known. */
  get protocol(): PortControlProtocol | undefined {
    return this.speaks;
  }

  /** Creates or renews a mapping (a renewal repeats the same request, section 11.2.1). */
  async map(request: MappingRequest, extras: MappingExtras = {}): Promise<GrantedMapping> {
    if (request.lifetimeSeconds <= 0) throw new Error('lifetime must be positive; use unmap to delete');
    return this.send(request, extras);
  }

  /** Deletes a mapping: the same request with lifetime 0. */
  async unmap(request: Omit<MappingRequest, 'lifetimeSeconds' | 'suggestedExternalPort'>): Promise<void> {
    await this.send({ ...request, suggestedExternalPort: 0, lifetimeSeconds: 0 }, {});
    this.nonces.delete(mappingKey(request));
  }

  /**
   * The PCP nonce of a mapping, so that another process (the agent after a restart,
   * `natplan cleanup`) can renew or delete it: RFC 6887 (section 11.3) ties a mapping to its
   * nonce. miniupnpd refuses a delete with another nonce (NOT_AUTHORIZED; the cleanup test
   * in e2e/scenarios/gateway-mapping.int.test.ts) and accepts a renewal.
   */
  nonceOf(request: Pick<MappingRequest, 'protocol' | 'internalPort'>): Uint8Array | undefined {
    return this.nonces.get(mappingKey(request));
  }

  /** Uses `nonce` for this mapping from now on (one remembered from an earlier process). */
  adoptNonce(request: Pick<MappingRequest, 'protocol' | 'internalPort'>, nonce: Uint8Array): void {
    this.nonces.set(mappingKey(request), nonce);
  }

  /** The gateway's external address (NAT-PMP opcode 0; with PCP it comes with each mapping). */
  async externalAddress(): Promise<string> {
    const { datagrams, clock } = this.options;
    const answer = await exchange(datagrams, clock, encodeExternalAddressRequest(), this.natPmpPolicy(), 'nat-pmp', (d) => {
      const response = decodeNatPmpResponse(d);
      return response?.kind === 'external-address' ? response : undefined;
    });
    checkNatPmpResult(answer.resultCode);
    return answer.externalAddress;
  }

  private async send(request: MappingRequest, extras: MappingExtras): Promise<GrantedMapping> {
    const order = this.speaks === undefined ? this.protocols : [this.speaks];
    let lastError: unknown;
    for (const protocol of order) {
      try {
        const granted = protocol === 'pcp' ? await this.sendPcp(request, extras) : await this.sendNatPmp(request, extras);
        this.speaks = protocol;
        return granted;
      } catch (error) {
        // Only "does not speak this" moves on to the next protocol; a refusal is an answer.
        if (!(error instanceof UnsupportedVersion || error instanceof GatewayTimeout)) {
          this.speaks = protocol;
          throw error;
        }
        lastError = error;
      }
    }
    throw lastError;
  }

  private async sendPcp(request: MappingRequest, extras: MappingExtras): Promise<GrantedMapping> {
    const { datagrams, clock } = this.options;
    const pcpRequest: PcpMapRequest = {
      ...request,
      clientAddress: datagrams.localAddress(),
      nonce: this.nonceFor(request),
      ...extras,
    };
    const response = await exchange(datagrams, clock, encodePcpMapRequest(pcpRequest), this.options.pcpRetransmit ?? PCP_RETRANSMIT, 'pcp', (d) => {
      const decoded = decodePcpResponse(d);
      return decoded !== undefined && answersRequest(decoded, pcpRequest) ? decoded : undefined;
    });
    return judgePcpResponse(response, request.protocol);
  }

  private async sendNatPmp(request: MappingRequest, extras: MappingExtras): Promise<GrantedMapping> {
    if (extras.thirdPartyAddress !== undefined || extras.preferFailure) {
      // NAT-PMP maps only for the sender and has no "fail rather than move" flag.
      throw new GatewayRefusal('unsupported', 'nat-pmp', -1);
    }
    const { datagrams, clock } = this.options;
    const answer = await exchange(datagrams, clock, encodeNatPmpMapRequest(request), this.natPmpPolicy(), 'nat-pmp', (d) => {
      const response = decodeNatPmpResponse(d);
      return response?.kind === 'map' && response.protocol === request.protocol
        && (response.internalPort === request.internalPort || response.resultCode !== 0) ? response : undefined;
    });
    checkNatPmpResult(answer.resultCode);
    const externalAddress = request.lifetimeSeconds === 0 ? '' : await this.externalAddress();
    return natPmpMapping(answer as Extract<NatPmpResponse, { kind: 'map' }>, externalAddress);
  }

  private natPmpPolicy(): RetransmitPolicy {
    return this.options.natPmpRetransmit ?? NATPMP_RETRANSMIT;
  }

  private nonceFor(request: Pick<MappingRequest, 'protocol' | 'internalPort'>): Uint8Array {
    const key = mappingKey(request);
    let nonce = this.nonces.get(key);
    if (nonce === undefined) {
      nonce = this.options.randomNonce();
      this.nonces.set(key, nonce);
    }
    return nonce;
  }
}

function mappingKey(request: Pick<MappingRequest, 'protocol' | 'internalPort'>): string {
  return `${request.protocol}/${request.internalPort}`;
}
