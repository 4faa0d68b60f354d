/**
 * Whether a gateway lost its mapping state, from the epoch every PCP and NAT-PMP answer
 * carries ("seconds since start of epoch"): a gateway that restarted starts counting again,
 * and all our mappings there are gone at once, not only the one whose answer showed it.
 * Pure: the caller feeds each answer's epoch with its own clock reading and renews every
 * mapping on that gateway when `observe` says the state was lost.
 *
 * - PCP, RFC 6887 section 8.5: lost when the server's time went back more than 1 s, or
 *   when the two clocks' deltas disagree by more than 2 s plus 1/16 (either way).
 * - NAT-PMP, RFC 6886 section 3.6: lost when the gateway's delta is more than 2 s below
 *   7/8 of the client's (a gateway clock running fast is not a loss there).
 *
 * Erring is cheap one way only: a false alarm (our wall clock stepped) costs one extra
 * renewal of each mapping; a missed loss leaves mappings down for up to half a lifetime.
 */
import type { MappingProtocol } from './types.js';

/** The last valid answer: the gateway's epoch and our clock (ms) when it arrived. */
export interface EpochSample {
  readonly serverSeconds: number;
  readonly clientMs: number;
}

export type EpochProtocol = Extract<MappingProtocol, 'pcp' | 'nat-pmp'>;

/** True when `current` shows the gateway lost the state it had at `previous`. */
export function lostState(protocol: EpochProtocol, previous: EpochSample, current: EpochSample): boolean {
  const serverDelta = current.serverSeconds - previous.serverSeconds;
  const clientDelta = (current.clientMs - previous.clientMs) / 1000;
  if (protocol === 'nat-pmp') return serverDelta < (clientDelta * 7) / 8 - 2;
  if (current.serverSeconds < previous.serverSeconds - 1) return true;
  return clientDelta + 2 < serverDelta - serverDelta / 16 || serverDelta + 2 < clientDelta - clientDelta / 16;
}

/**
 * The expectation for one gateway. The first answer only sets it (nothing to compare);
 * every later one is compared and then becomes the new expectation (section 8.5: the
 * previous values follow each valid answer, so one restart is reported once). A change
 * of protocol (PCP fell back to NAT-PMP) starts afresh: the two epochs are not one clock.
 */
export class EpochWatch {
  private last: { readonly protocol: EpochProtocol; readonly sample: EpochSample } | undefined;

  /** Records an answer; true when it shows the gateway lost its state since the last one. */
  observe(protocol: EpochProtocol, sample: EpochSample): boolean {
    const last = this.last;
    this.last = { protocol, sample };
    return last !== undefined && last.protocol === protocol && lostState(protocol, last.sample, sample);
  }
}
