/**
 * An exposure is reachable on the port the policy names, or not at all: a mapping on
 * another external port would be reported nowhere users look. PCP says so with
 * PREFER_FAILURE (RFC 6887 section 13.2: the server fails instead of choosing another
 * port); NAT-PMP cannot, so there the mapping is asked for, checked, and given back when
 * the gateway chose another port.
 */
import type { MappingExtras, PortMapper } from './client.js';
import { GatewayRefusal } from './types.js';
import type { GrantedMapping, MappingRequest } from './types.js';

export class ExactPortMapper implements PortMapper {
  constructor(private readonly inner: PortMapper) {}

  async map(request: MappingRequest, extras: MappingExtras = {}): Promise<GrantedMapping> {
    try {
      return await this.inner.map(request, { ...extras, preferFailure: true });
    } catch (error) {
      // The client's own "NAT-PMP cannot express this" (no datagram was sent); any other answer stands.
      if (!(error instanceof GatewayRefusal && error.reason === 'unsupported' && error.via === 'nat-pmp' && error.resultCode === -1)) throw error;
    }
    const granted = await this.inner.map(request, { ...extras, preferFailure: false });
    if (granted.externalPort !== request.suggestedExternalPort) {
      await this.inner.unmap({ protocol: request.protocol, internalPort: request.internalPort }).catch(() => undefined);
      throw new GatewayRefusal('port-unavailable', granted.via, -1);
    }
    return granted;
  }

  unmap(request: Parameters<PortMapper['unmap']>[0]): Promise<void> {
    return this.inner.unmap(request);
  }
}
