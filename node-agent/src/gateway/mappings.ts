/**
 * The port mappings a node's plan asks of the NAT gateway in front of it: one lease per
 * exposure with a gatewayMapping (lease.ts renews it at half its lifetime, so a gateway
 * whose external address changed answers anew at the next renewal), released when the
 * exposure leaves the plan. Every answer's epoch is checked (epoch.ts): when one shows the
 * gateway lost its state (a restart), every other mapping there is renewed at once rather
 * than at its own next renewal. It reports per exposure what
 * the gateway granted or why not, for the agent's NodeNatPlan status. Sockets and timers
 * come in through `connect` and `clock`, so unit tests run it on fakes.
 */
import type { NodeNatPlanExposure, NodeNatPlanGatewayMapping } from '@natplan/api';
import type { PortMapper } from './client.js';
import type { Clock } from './exchange.js';
import { EpochWatch } from './epoch.js';
import { MappingLease, type LeaseEvent } from './lease.js';
import { GatewayRefusal, GatewayTimeout } from './types.js';
import type { MappingProtocol, RefusalReason, TransportProtocol } from './types.js';

/** A gateway to ask, and how; `via` names what answered (PCP, NAT-PMP, UPnP-IGD). */
export interface GatewayConnection {
  readonly gateway: string;
  readonly mapper: PortMapper;
  /** PCP nonces (hex) by mapping: kept with the held list, adopted by the next process. */
  readonly nonces?: {
    get(mapping: Pick<HeldMapping, 'protocol' | 'internalPort'>): string | undefined;
    adopt(mapping: Pick<HeldMapping, 'protocol' | 'internalPort'>, nonce: string): void;
  };
  close(): void;
}

/** What a later process (the agent restarted, cleanup) needs to renew or delete a mapping. */
export interface HeldMapping {
  readonly gateway: string;
  readonly protocol: TransportProtocol;
  readonly internalPort: number;
  /** PCP's mapping nonce, hex; the gateway refuses a renewal or delete without it. */
  readonly nonce?: string;
  /** The protocol that granted it, so cleanup deletes it the same way (absent: PCP or NAT-PMP). */
  readonly via?: MappingProtocol;
}

export interface GatewayMappingsOptions {
  /** Finds and connects to the gateway; undefined when there is none (no default route). */
  connect(): Promise<GatewayConnection | undefined>;
  readonly clock: Clock;
  /** Asked for; the gateway may grant less (miniupnpd's max_lifetime) and renewals follow the grant. */
  readonly lifetimeSeconds: number;
  /** A refused mapping, or a gateway not found, is asked for again after this long. */
  readonly retryMs: number;
  /** The report changed (a mapping granted, refused, moved, released). */
  onChange(): void;
  /** The mappings that may exist on a gateway now, for `natplan cleanup`. */
  onHeld?(held: readonly HeldMapping[]): void;
  onError?(message: string, error: unknown): void;
  /** An answer's epoch showed that the gateway lost its mappings; all of them are being asked for again. */
  onStateLost?(gateway: string): void;
  /**
   * What the previous process held (the list it left on disk): their nonces are adopted,
   * so renewals go on where it stopped, and those the plan no longer asks for are deleted.
   */
  readonly previouslyHeld?: readonly HeldMapping[];
  /**
   * What the previous agent last reported (this node's status): until the gateway answers
   * anew, a mapping it held is reported as it was, not as Pending, so a restart does not
   * take the policy's public endpoint away for a moment. Read at the first update only.
   */
  previousReport?(): readonly NodeNatPlanGatewayMapping[] | undefined;
}

const REASONS: Record<RefusalReason, string> = {
  'not-authorized': 'NotAuthorized',
  'port-unavailable': 'PortTaken',
  'no-resources': 'NoResources',
  'network-failure': 'NetworkFailure',
  'address-mismatch': 'AddressMismatch',
  unsupported: 'Unsupported',
  malformed: 'Malformed',
};
const VIA: Record<MappingProtocol, NonNullable<NodeNatPlanGatewayMapping['via']>> = { pcp: 'PCP', 'nat-pmp': 'NAT-PMP', 'upnp-igd': 'UPnP-IGD' };

/** The status reason for an error the gateway exchange ended with. */
export function refusalOf(error: unknown): { reason: string; message: string } {
  if (error instanceof GatewayRefusal) return { reason: REASONS[error.reason], message: error.message };
  if (error instanceof GatewayTimeout) return { reason: 'NoGateway', message: error.message };
  return { reason: 'NoGateway', message: error instanceof Error ? error.message : String(error) };
}

interface Wanted {
  readonly address: string;
  readonly port: number;
  readonly protocol: 'TCP' | 'UDP';
  readonly externalPort: number;
}

interface Entry {
  readonly wanted: Wanted;
  lease: MappingLease | undefined;
  report: NodeNatPlanGatewayMapping;
  everMapped: boolean;
  via?: MappingProtocol;
  cancelRetry: () => void;
}

const keyOf = (w: Wanted) => `${w.address}|${w.port}|${w.protocol}|${w.externalPort}`;

/** The exposures that ask for a gateway mapping, as the plan lists them. */
export function wantedMappings(exposures: readonly NodeNatPlanExposure[]): Wanted[] {
  const out: Wanted[] = [];
  for (const e of exposures) {
    if (!e.gatewayMapping || (e.protocol !== 'TCP' && e.protocol !== 'UDP')) continue;
    out.push({ address: e.address, port: e.port, protocol: e.protocol, externalPort: e.gatewayMapping.externalPort });
  }
  return out;
}

export class GatewayMappings {
  private readonly entries = new Map<string, Entry>();
  /** Mappings whose delete is on its way to the gateway. */
  private readonly releasing = new Map<string, HeldMapping>();
  private connection: Promise<GatewayConnection | undefined> | undefined;
  private connectionProblem: { reason: string; message: string } | undefined;
  private cancelReconnect: () => void = () => {};
  private stopped = false;
  /** The connection once made (for the nonces in the held list). */
  private current: GatewayConnection | undefined;
  /** Whether update ran before (the previous report counts at the first only). */
  private updated = false;
  private leftoversHandled = false;
  /** The epoch expectation per gateway address (a new route to another gateway starts its own). */
  private readonly epochs = new Map<string, EpochWatch>();

  constructor(private readonly options: GatewayMappingsOptions) {
    for (const m of options.previouslyHeld ?? []) this.releasing.set(heldKey(m), m);
  }

  /** Brings the leases in line with the plan's exposures: new ones asked for, gone ones released. */
  update(exposures: readonly NodeNatPlanExposure[]): void {
    if (this.stopped) return;
    const wanted = new Map(wantedMappings(exposures).map((w) => [keyOf(w), w] as const));
    const first = !this.updated;
    this.updated = true;
    let changed = false;
    for (const [key, entry] of this.entries) {
      if (wanted.has(key)) continue;
      this.entries.delete(key);
      entry.cancelRetry();
      changed = true;
      if (entry.lease) {
        // Held until the gateway confirmed the delete; a failed delete stays for cleanup (or expires).
        const mapping = entry.everMapped && entry.report.gateway !== undefined ? this.heldMapping(entry.report.gateway, entry) : undefined;
        if (mapping) this.releasing.set(heldKey(mapping), mapping);
        entry.lease.release().then(() => {
          if (mapping) this.releasing.delete(heldKey(mapping));
          this.held();
        }, (error: unknown) => this.options.onError?.('gateway mapping release failed', error));
      }
    }
    for (const [key, w] of wanted) {
      if (this.entries.has(key)) continue;
      const before = first ? this.options.previousReport?.()?.find((r) => r.state === 'Mapped' && r.address === w.address && r.port === w.port && r.protocol === w.protocol) : undefined;
      const entry: Entry = { wanted: w, lease: undefined, everMapped: false, cancelRetry: () => {}, report: before ?? this.pending(w) };
      this.entries.set(key, entry);
      changed = true;
      void this.begin(entry);
    }
    if (changed) {
      this.held();
      this.options.onChange();
    }
    if (this.options.previouslyHeld?.length && !this.leftoversHandled) {
      this.leftoversHandled = true;
      void this.connect().then((connection) => { if (connection) this.releaseLeftovers(connection); });
    }
  }

  /** The previous process's mappings that this plan does not ask for (a policy deleted while the agent was down). */
  private releaseLeftovers(connection: GatewayConnection): void {
    const wanted = new Set([...this.entries.values()].map((e) => heldKey(heldMapping(connection.gateway, e.wanted))));
    for (const m of this.options.previouslyHeld ?? []) {
      const key = heldKey({ gateway: m.gateway, protocol: m.protocol, internalPort: m.internalPort });
      // A wanted one stays listed (with its nonce) until its entry is mapped, and overrides it then.
      if (wanted.has(key)) continue;
      if (m.gateway !== connection.gateway) {
        this.releasing.delete(heldKey(m)); // another gateway (the route changed): it expires there
        continue;
      }
      connection.mapper.unmap({ protocol: m.protocol, internalPort: m.internalPort }).then(() => {
        this.releasing.delete(heldKey(m));
        this.held();
      }, (error: unknown) => this.options.onError?.('deleting a mapping the previous agent held failed', error));
    }
    this.held();
  }

  /** Per exposure, sorted: what the gateway granted, or why not. */
  report(): NodeNatPlanGatewayMapping[] {
    return [...this.entries.values()].map((e) => e.report)
      .sort((a, b) => a.address.localeCompare(b.address) || a.port - b.port || a.protocol.localeCompare(b.protocol));
  }

  /** Stops renewing without deleting anything (an agent restart keeps the mappings, as it keeps its rules). */
  async stop(): Promise<void> {
    this.stopped = true;
    this.cancelReconnect();
    for (const entry of this.entries.values()) {
      entry.cancelRetry();
      entry.lease?.stop();
    }
    (await this.connection?.catch(() => undefined))?.close();
  }

  private pending(w: Wanted): NodeNatPlanGatewayMapping {
    return { address: w.address, port: w.port, protocol: w.protocol, state: 'Pending' };
  }

  private async begin(entry: Entry): Promise<void> {
    const connection = await this.connect();
    if (this.stopped || this.entries.get(keyOf(entry.wanted)) !== entry) return;
    if (!connection) {
      this.set(entry, { ...this.pending(entry.wanted), state: 'Refused', ...(this.connectionProblem ?? { reason: 'NoGateway', message: 'no gateway found' }) });
      return; // the reconnect begins it again
    }
    const { wanted } = entry;
    const lease = new MappingLease(connection.mapper, this.options.clock, {
      protocol: wanted.protocol === 'TCP' ? 'tcp' : 'udp',
      internalPort: wanted.port,
      suggestedExternalPort: wanted.externalPort,
      lifetimeSeconds: this.options.lifetimeSeconds,
    }, (event) => this.onLeaseEvent(entry, connection.gateway, event));
    entry.lease = lease;
    lease.start();
  }

  private connect(): Promise<GatewayConnection | undefined> {
    this.connection ??= this.options.connect().then((connection) => {
      this.connectionProblem = connection ? undefined : { reason: 'NoGateway', message: 'the node has no IPv4 default route to ask' };
      if (!connection) this.reconnectLater();
      this.current = connection;
      for (const m of this.options.previouslyHeld ?? []) {
        if (connection && m.gateway === connection.gateway && m.nonce) connection.nonces?.adopt(m, m.nonce);
      }
      return connection;
    }, (error: unknown) => {
      this.connectionProblem = { reason: 'NoGateway', message: `cannot reach a gateway: ${error instanceof Error ? error.message : String(error)}` };
      this.reconnectLater();
      return undefined;
    });
    return this.connection;
  }

  private reconnectLater(): void {
    this.cancelReconnect();
    this.cancelReconnect = this.options.clock.setTimer(this.options.retryMs, () => {
      this.connection = undefined;
      for (const entry of this.entries.values()) if (!entry.lease) void this.begin(entry);
    });
  }

  private onLeaseEvent(entry: Entry, gateway: string, event: LeaseEvent): void {
    if (this.entries.get(keyOf(entry.wanted)) !== entry) return;
    const base = this.pending(entry.wanted);
    if (event.type === 'mapped') {
      const { mapping } = event;
      this.checkEpoch(entry, gateway, mapping.via, mapping.epochSeconds);
      this.set(entry, { ...base, state: 'Mapped', externalAddress: mapping.externalAddress, externalPort: mapping.externalPort, via: VIA[mapping.via], gateway });
      if (!entry.everMapped) {
        entry.everMapped = true;
        entry.via = mapping.via;
        this.held();
      }
      return;
    }
    // A renewal that failed while the last grant still runs: the mapping stands meanwhile.
    if (event.type === 'retrying' && entry.lease?.current()) return;
    this.set(entry, { ...base, state: 'Refused', ...refusalOf(event.error), gateway });
    if (event.type === 'refused') {
      // A refusal that cannot heal by itself may be healed by someone: the port freed, the gateway reconfigured.
      entry.cancelRetry();
      entry.cancelRetry = this.options.clock.setTimer(this.options.retryMs, () => entry.lease?.start());
    }
  }

  /**
   * RFC 6887 section 8.5 (RFC 6886 section 3.6 alike): a gateway that lost its state lost
   * every mapping, so all are renewed now, not each at its next renewal (up to half a
   * lifetime later). UPnP IGD has no epoch.
   */
  private checkEpoch(answered: Entry, gateway: string, via: MappingProtocol, epochSeconds: number): void {
    if (via === 'upnp-igd') return;
    let watch = this.epochs.get(gateway);
    if (!watch) this.epochs.set(gateway, watch = new EpochWatch());
    if (!watch.observe(via, { serverSeconds: epochSeconds, clientMs: this.options.clock.now() })) return;
    this.options.onStateLost?.(gateway);
    for (const entry of this.entries.values()) {
      if (entry !== answered) entry.lease?.renewNow();
    }
  }

  private set(entry: Entry, report: NodeNatPlanGatewayMapping): void {
    if (JSON.stringify(entry.report) === JSON.stringify(report)) return;
    entry.report = report;
    this.options.onChange();
  }

  private held(): void {
    if (!this.options.onHeld) return;
    const held = new Map<string, HeldMapping>(this.releasing);
    for (const e of this.entries.values()) {
      if (!e.everMapped || e.report.gateway === undefined) continue;
      const mapping = this.heldMapping(e.report.gateway, e);
      held.set(heldKey(mapping), mapping);
    }
    this.options.onHeld([...held.values()]);
  }

  private heldMapping(gateway: string, entry: Entry): HeldMapping {
    const mapping = heldMapping(gateway, entry.wanted);
    if (entry.via === 'upnp-igd') return { ...mapping, via: entry.via };
    const nonce = this.current?.gateway === gateway ? this.current.nonces?.get(mapping) : undefined;
    return nonce === undefined ? mapping : { ...mapping, nonce };
  }
}

function heldMapping(gateway: string, w: Wanted): HeldMapping {
  return { gateway, protocol: w.protocol === 'TCP' ? 'tcp' : 'udp', internalPort: w.port };
}

const heldKey = (m: Pick<HeldMapping, 'gateway' | 'protocol' | 'internalPort'>) => `${m.gateway}|${m.protocol}|${m.internalPort}`;
