/**
 * PCP and NAT-PMP first (one client, PCP falling back to NAT-PMP), UPnP IGD last: when
 * neither answers at all (a timeout, not a refusal; a refusal is an answer), the next
 * mapper is tried, and the one that answered is kept for this gateway.
 */
import type { MappingExtras, PortMapper } from './client.js';
import { GatewayTimeout } from './types.js';
import type { GrantedMapping, MappingRequest } from './types.js';

export class FallbackMapper implements PortMapper {
  private answered: PortMapper | undefined;

  constructor(private readonly mappers: readonly PortMapper[]) {}

  async map(request: MappingRequest, extras?: MappingExtras): Promise<GrantedMapping> {
    return this.first((mapper) => mapper.map(request, extras));
  }

  async unmap(request: Parameters<PortMapper['unmap']>[0]): Promise<void> {
    return this.first((mapper) => mapper.unmap(request));
  }

  private async first<T>(call: (mapper: PortMapper) => Promise<T>): Promise<T> {
    const order = this.answered ? [this.answered] : this.mappers;
    let last: unknown = new Error('no mapper');
    for (const mapper of order) {
      try {
        const result = await call(mapper);
        this.answered = mapper;
        return result;
      } catch (error) {
        if (!(error instanceof GatewayTimeout)) {
          this.answered = mapper;
          throw error;
        }
        last = error;
      }
    }
    throw last;
  }
}
