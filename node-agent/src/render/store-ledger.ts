/**
 * The element store's owners: who needs each object of the tables. Reference counts for
 * shared chains and elements, the claimants of each frontend key in first-wins order, the
 * UDP facts with their counts and the totals reported in status. Every change goes
 * through to StoreTables, which journals it.
 */
import type { Claim, FamilyFragment, UdpFacts } from './fragment-builder.js';
import { compareRanks } from './fragment-builder.js';
import type { ChainState, IPFamily, NftSet } from './model.js';
import { FAMILIES } from './model.js';
import type { ServiceFragment } from './nft-services.js';
import type { StaleUdpFlow } from './stale-udp.js';
import { sortStaleUdp, splitEndpoint } from './stale-udp.js';
import type { StoreTables } from './store-tables.js';

/** What the store keeps of a Service's fragment (its plan only on request, see RulesetStore). */
export type StoredFragment = Omit<ServiceFragment, 'plan'>;

type PerFamily<T> = Record<IPFamily, T>;
const perFamily = <T>(make: () => T): PerFamily<T> => ({ IPv4: make(), IPv6: make() });

function count(map: Map<string, number>, key: string, delta: 1 | -1): number {
  const n = (map.get(key) ?? 0) + delta;
  if (n > 0) map.set(key, n);
  else map.delete(key);
  return n;
}

interface UdpJournal { endpoints: Map<string, boolean>; paths: Map<string, boolean>; frontends: Map<string, boolean | undefined> }

export class StoreLedger {
  private chains = perFamily(() => new Map<string, number>());
  private sets = perFamily(() => new Map<string, number>());
  private elements = perFamily(() => new Map<string, Map<string, number>>());
  private claims = perFamily(() => new Map<string, Claim[]>());
  /** Claim ids with more than one claimant (their losers are problems). */
  private contested = perFamily(() => new Set<string>());
  private udpEndpoints = new Map<string, number>();
  private udpPaths = new Map<string, number>();
  /** `address|port` -> [claimants granted with endpoints, without]. */
  private udpFrontends = new Map<string, [number, number]>();
  /** Each UDP fact's value at the last commit (first touch wins); empty before the first. */
  private udpJournal: UdpJournal = { endpoints: new Map(), paths: new Map(), frontends: new Map() };
  private everCommitted = false;
  private endpoints = new Map<string, number>();
  readonly ports: PerFamily<number> = { IPv4: 0, IPv6: 0 };
  services = 0;
  exposures = 0;
  /** Set when a contested key's claimants changed since the caller last looked. */
  conflictsChanged = false;

  /** `previous`: the ledger of the same store before a reset; its UDP journal carries over. */
  constructor(private readonly tables: StoreTables, previous?: StoreLedger) {
    if (previous) { this.udpJournal = previous.udpJournal; this.everCommitted = previous.everCommitted; }
  }

  get endpointCount(): number { return this.endpoints.size; }

  add(f: StoredFragment): void { this.step(f, 1); }
  remove(f: StoredFragment): void { this.step(f, -1); }

  /**
   * `f` (already added) with its chains replaced by the tables' objects of the same name:
   * shared chains are rendered anew by every Service that uses them, and keeping one copy
   * instead of one per Service saves most of what fragments hold besides elements.
   */
  sharedChains<F extends StoredFragment>(f: F): F {
    const families = {} as Record<IPFamily, FamilyFragment>;
    for (const family of FAMILIES) {
      const ff = f.families[family];
      const live = this.tables.tables[family].chains;
      families[family] = ff.chains.length ? { ...ff, chains: ff.chains.map((c) => live.get(c.name) ?? c) } : ff;
    }
    return { ...f, families };
  }

  private step(f: StoredFragment, delta: 1 | -1): void {
    for (const family of FAMILIES) {
      const ff = f.families[family];
      this.ports[family] += delta * ff.ports;
      // Claims are withdrawn first and made last, so their elements never outlive the
      // chains they name within one update.
      if (delta === 1) for (const chain of ff.chains) this.refChain(family, chain, 1);
      if (delta === 1) for (const set of ff.sets) this.refSet(family, set, 1);
      const e = ff.elements;
      for (let i = 0; i < e.length; i += 3) this.refElement(family, e[i] as string, e[i + 1] as string, e[i + 2] as string, delta);
      for (const e of ff.udpEndpoints) this.refUdp(this.udpEndpoints, this.udpJournal.endpoints, e, delta);
      for (const p of ff.udpPaths) this.refUdp(this.udpPaths, this.udpJournal.paths, p, delta);
      for (const claim of ff.claims) if (delta === 1) this.addClaim(family, claim); else this.removeClaim(family, claim);
      if (delta === -1) for (const set of ff.sets) this.refSet(family, set, -1);
      if (delta === -1) for (const chain of ff.chains) this.refChain(family, chain, -1);
    }
    for (const e of f.endpoints) count(this.endpoints, e, delta);
    this.services += delta * (f.present ? 1 : 0);
    this.exposures += delta * f.exposures;
  }

  refChain(family: IPFamily, chain: ChainState, delta: 1 | -1): void {
    const n = count(this.chains[family], chain.name, delta);
    // A chain's rules follow from its name and the node context, so every user wants the same.
    if (delta === 1) this.tables.setChain(family, chain);
    else if (n === 0) this.tables.deleteChain(family, chain.name);
  }

  private refSet(family: IPFamily, set: NftSet, delta: 1 | -1): void {
    const n = count(this.sets[family], set.name, delta);
    if (delta === 1) this.tables.setSet(family, set);
    else if (n === 0) this.tables.deleteSet(family, set.name);
  }

  refElement(family: IPFamily, set: string, key: string, value: string, delta: 1 | -1): void {
    let keys = this.elements[family].get(set);
    if (!keys) this.elements[family].set(set, (keys = new Map()));
    const n = count(keys, key, delta);
    if (delta === 1) this.tables.setElement(family, set, key, value);
    else if (n === 0) this.tables.deleteElement(family, set, key);
  }

  private refUdp(counts: Map<string, number>, journal: Map<string, boolean>, key: string, delta: 1 | -1): void {
    if (this.everCommitted && !journal.has(key)) journal.set(key, counts.has(key));
    count(counts, key, delta);
  }

  private addClaim(family: IPFamily, claim: Claim): void {
    const id = `${claim.kind} ${claim.key}`;
    let list = this.claims[family].get(id);
    if (!list) this.claims[family].set(id, (list = []));
    let at = list.length;
    while (at > 0 && compareRanks(claim.rank, (list[at - 1] as Claim).rank) < 0) at--;
    list.splice(at, 0, claim);
    if (at === 0) {
      const previous = list[1];
      if (previous) this.grant(family, previous, -1);
      this.grant(family, claim, 1);
    }
    if (list.length > 1) { this.contested[family].add(id); this.conflictsChanged = true; }
  }

  private removeClaim(family: IPFamily, claim: Claim): void {
    const id = `${claim.kind} ${claim.key}`;
    const list = this.claims[family].get(id) ?? [];
    const at = list.indexOf(claim);
    if (at < 0) throw new Error(`natplan renderer bug: claim ${id} not held`);
    if (list.length > 1) this.conflictsChanged = true;
    list.splice(at, 1);
    if (at === 0) {
      this.grant(family, claim, -1);
      const next = list[0];
      if (next) this.grant(family, next, 1);
    }
    if (!list.length) this.claims[family].delete(id);
    if (list.length <= 1) this.contested[family].delete(id);
  }

  /** A claim's elements belong to its key alone, so granting and revoking never collide. */
  private grant(family: IPFamily, claim: Claim, delta: 1 | -1): void {
    const e = claim.elements;
    for (let i = 0; i < e.length; i += 3) {
      if (delta === 1) this.tables.setElement(family, e[i] as string, e[i + 1] as string, e[i + 2] as string);
      else this.tables.deleteElement(family, e[i] as string, e[i + 1] as string);
    }
    for (const [key, hasEndpoints] of claim.udpFrontends) {
      if (this.everCommitted && !this.udpJournal.frontends.has(key)) this.udpJournal.frontends.set(key, this.frontendValue(key));
      const counts = this.udpFrontends.get(key) ?? [0, 0];
      counts[hasEndpoints ? 0 : 1] += delta;
      if (counts[0] || counts[1]) this.udpFrontends.set(key, counts);
      else this.udpFrontends.delete(key);
    }
  }

  /** Whether a UDP frontend has endpoints: yes if any claim granted on it says so. */
  private frontendValue(key: string): boolean | undefined {
    const counts = this.udpFrontends.get(key);
    return counts ? counts[0] > 0 : undefined;
  }

  /** One sentence per losing claim, in first-wins order. */
  conflictProblems(): string[] {
    this.conflictsChanged = false;
    const losers: [Claim, string, IPFamily][] = [];
    for (const family of FAMILIES) {
      for (const id of this.contested[family]) {
        const [winner, ...rest] = this.claims[family].get(id) ?? [];
        for (const loser of rest) losers.push([loser, winner?.owner ?? '', family]);
      }
    }
    losers.sort(([a, , fa], [b, , fb]) => (fa === fb ? compareRanks(a.rank, b.rank) : fa === 'IPv4' ? -1 : 1));
    return losers.map(([c, winner, family]) => `${family} ${c.kind === 'ip' ? '' : 'node port '}${c.key}: claimed by ${winner}; ${c.owner} skipped`);
  }

  udpFacts(): UdpFacts {
    return {
      endpoints: new Set([...this.udpEndpoints.keys()].sort()),
      paths: new Set([...this.udpPaths.keys()].sort()),
      frontends: new Map([...this.udpFrontends.keys()].sort().map((key) => [key, this.frontendValue(key) === true])),
    };
  }

  /** Before a reset: every current UDP fact's committed value, so stale flows are still found. */
  captureUdp(): void {
    if (!this.everCommitted) return;
    for (const key of this.udpEndpoints.keys()) if (!this.udpJournal.endpoints.has(key)) this.udpJournal.endpoints.set(key, true);
    for (const key of this.udpPaths.keys()) if (!this.udpJournal.paths.has(key)) this.udpJournal.paths.set(key, true);
    for (const key of this.udpFrontends.keys()) if (!this.udpJournal.frontends.has(key)) this.udpJournal.frontends.set(key, this.frontendValue(key));
  }

  /** The UDP flows the change since the last commit made stale (same rules as staleUdpEndpoints). */
  staleUdp(): StaleUdpFlow[] {
    const out: StaleUdpFlow[] = [];
    const { endpoints, paths, frontends } = this.udpJournal;
    for (const [key, was] of endpoints) if (was && !this.udpEndpoints.has(key)) out.push({ ...splitEndpoint(key), match: 'reply-source' });
    for (const [path, was] of paths) {
      if (!was || this.udpPaths.has(path)) continue;
      const [fAddress, fPort, eAddress, ePort] = path.split('|') as [string, string, string, string];
      if (!this.udpEndpoints.has(`${eAddress}|${ePort}`)) continue;
      out.push({ address: eAddress, port: Number(ePort), match: 'reply-source', frontend: { address: fAddress, port: Number(fPort) } });
    }
    for (const [key, was] of frontends) if (this.frontendValue(key) === true && was !== true) out.push({ ...splitEndpoint(key), match: 'original-destination' });
    return sortStaleUdp(out);
  }

  committed(): void {
    this.everCommitted = true;
    this.udpJournal = { endpoints: new Map(), paths: new Map(), frontends: new Map() };
  }
}
