/**
 * A packet tracer over the nft MODEL (kube-proxy's nftablesTracer idea, written anew): it
 * interprets the rule grammar natplan emits and follows the first packet of a connection
 * through the hooks, so behaviour tests survive refactors of the rule text. It explores
 * every `numgen` outcome, so `endpoints` lists each endpoint that can be chosen.
 * Dynamic (affinity) sets are empty: this is a client's first connection.
 */
import { canonicalAddr, formatHostPort, parseAddr, parsePrefix, prefixContains, type IPFamily } from '@natplan/netaddr';
import type { ChainHook, SetState, TableState } from '../model.js';
import type { NftRuleset } from '../nft-render.js';

export interface TracePacket {
  family: IPFamily;
  source: string;
  destination: string;
  port: number;
  protocol: 'tcp' | 'udp' | 'sctp' | 'TCP' | 'UDP' | 'SCTP';
  /** Sent by a pod on this node; asserted against the table's local CIDRs when it has any. */
  fromLocalPod?: boolean;
  /**
   * The interface the packet arrived on (`iifname`, iptables' `-i`); default `eth0`, an
   * uplink. The node's own packets have none.
   */
  inInterface?: string;
  /** Sent by a process of the node itself (output hook, `fib saddr type local`). */
  fromNode?: boolean;
}

export interface TraceResult {
  verdict: 'DNAT' | 'DROP' | 'REJECT' | 'ACCEPT';
  /** Every endpoint (`ip:port`, `[ip6]:port`) the connection may be sent to. */
  endpoints?: string[];
  /** Some outcome masquerades the packet (hairpin masquerades only when the pod picks itself). */
  masquerade: boolean;
  /** One entry per possible outcome. */
  branches: { verdict: TraceResult['verdict']; endpoint?: string; masquerade: boolean }[];
}

export interface TraceHost {
  /** Addresses of this node (for `fib ... type local` and routing); default: the node-port addresses. */
  localAddresses?: string[];
}

interface PacketState { iifname: string; saddr: string; daddr: string; dport: number; proto: string; mark: number; masquerade: boolean; endpoint?: string }
type Outcome = 'accept' | 'drop' | 'reject' | undefined;

class Chooser {
  decisions: boolean[] = [];
  constructor(private readonly prefix: boolean[]) {}
  next(): boolean {
    const value = this.prefix[this.decisions.length] ?? false;
    this.decisions.push(value);
    return value;
  }
}

function tokenize(rule: string): string[] {
  return rule.match(/"[^"]*"|\S+/g) ?? [];
}

function matchesElementKey(key: string, values: string[]): boolean {
  const parts = key.split(' . ');
  if (parts.length !== values.length) return false;
  return parts.every((part, i) => {
    const value = values[i] ?? '';
    if (part.includes('/')) {
      const cidr = parsePrefix(part);
      const address = parseAddr(value);
      return cidr !== undefined && address !== undefined && prefixContains(cidr, address);
    }
    return part === value;
  });
}

function lookup(set: SetState | undefined, values: string[]): string | undefined {
  if (!set) throw new Error('tracer: lookup in a missing set');
  const direct = set.elements.get(values.join(' . '));
  if (direct !== undefined) return direct;
  for (const [key, value] of set.elements) if (matchesElementKey(key, values)) return value;
  return undefined;
}

class Interpreter {
  private readonly hooksVisited: ChainHook[] = [];
  constructor(private readonly table: TableState, private readonly state: PacketState, private readonly chooser: Chooser,
    private readonly isLocal: (address: string) => boolean, private readonly fromNode: boolean) {}

  runHook(hook: ChainHook): Outcome {
    this.hooksVisited.push(hook);
    const chains = [...this.table.chains.values()].filter((c) => c.base?.hook === hook)
      .sort((a, b) => (a.base?.priority ?? 0) - (b.base?.priority ?? 0));
    for (const chain of chains) {
      const outcome = this.runChain(chain.name, 0);
      if (outcome === 'drop' || outcome === 'reject') return outcome;
    }
    return undefined;
  }

  /** Runs a chain; 'accept'/'drop'/'reject' end the base chain, undefined falls through or returns. */
  private runChain(name: string, depth: number): Outcome {
    if (depth > 32) throw new Error(`tracer: chain depth exceeded at ${name}`);
    const chain = this.table.chains.get(name);
    if (!chain) throw new Error(`tracer: no chain ${name}`);
    for (const rule of chain.rules) {
      const result = this.runRule(tokenize(rule), depth);
      if (result === 'next') continue;
      if (result === 'return') return undefined;
      if (typeof result === 'object') {
        const outcome = this.runChain(result.chain, depth + 1);
        if (result.goto || outcome !== undefined) return outcome;
        continue;
      }
      return result;
    }
    return undefined;
  }

  private value(tokens: string[], i: number): [string, number] {
    const t = tokens[i];
    const s = this.state;
    if ((t === 'ip' || t === 'ip6') && tokens[i + 1] === 'saddr') return [s.saddr, i + 2];
    if ((t === 'ip' || t === 'ip6') && tokens[i + 1] === 'daddr') return [s.daddr, i + 2];
    if (t === 'meta' && tokens[i + 1] === 'l4proto') return [s.proto, i + 2];
    if (t === 'iifname') return [s.iifname, i + 1];
    if (t === 'meta' && tokens[i + 1] === 'mark') return [String(s.mark), i + 2];
    if (t === 'th' && tokens[i + 1] === 'dport') return [String(s.dport), i + 2];
    // `tcp dport` and the like only follow a match on that protocol in natplan's rules.
    if ((t === 'tcp' || t === 'udp' || t === 'sctp') && tokens[i + 1] === 'dport') {
      if (s.proto !== t) throw new Error(`tracer: ${t} dport read from a ${s.proto} packet`);
      return [String(s.dport), i + 2];
    }
    throw new Error(`tracer: unknown expression at ${tokens.slice(i).join(' ')}`);
  }

  private equalsLiteral(value: string, literal: string): boolean {
    // An interface name: quoted, a trailing `*` matches every name with that prefix.
    if (literal.startsWith('"')) {
      const name = literal.slice(1, -1);
      return name.endsWith('*') ? value.startsWith(name.slice(0, -1)) : value === name;
    }
    if (literal.includes('/')) {
      const cidr = parsePrefix(literal);
      const address = parseAddr(value);
      return cidr !== undefined && address !== undefined && prefixContains(cidr, address);
    }
    return value === (canonicalAddr(literal) ?? literal);
  }

  private runRule(tokens: string[], depth: number): 'next' | 'return' | Outcome | { chain: string; goto: boolean } {
    let i = 0;
    while (i < tokens.length) {
      const t = tokens[i] ?? '';
      if (t === 'comment') { i += 2; continue; }
      if (t === 'ct' && tokens[i + 1] === 'state' && tokens[i + 2] === 'new') { i += 3; continue; }
      if (t === 'ct' && tokens[i + 1] === 'status' && tokens[i + 2] === 'dnat') {
        if (this.state.endpoint === undefined) return 'next';
        i += 3;
        continue;
      }
      if (t === 'fib') {
        const which = tokens[i + 1];
        const local = which === 'saddr' ? this.fromNode || this.isLocal(this.state.saddr) : this.isLocal(this.state.daddr);
        if (tokens[i + 2] !== 'type' || tokens[i + 3] !== 'local') throw new Error(`tracer: unknown fib ${tokens.join(' ')}`);
        if (!local) return 'next';
        i += 4;
        continue;
      }
      if (t === 'numgen') {
        // numgen random mod N == 0: explored both ways.
        if (tokens[i + 4] !== '==' || tokens[i + 5] !== '0') throw new Error(`tracer: unknown numgen ${tokens.join(' ')}`);
        if (!this.chooser.next()) return 'next';
        i += 6;
        continue;
      }
      if (t === 'jump' || t === 'goto') return { chain: tokens[i + 1] ?? '', goto: t === 'goto' };
      if (t === 'return') return 'return';
      if (t === 'drop') return 'drop';
      if (t === 'accept') return 'accept';
      if (t === 'reject') return 'reject';
      if (t === 'masquerade') { this.state.masquerade = true; return 'accept'; }
      if (t === 'dnat' && (tokens[i + 1] === 'ip' || tokens[i + 1] === 'ip6') && tokens[i + 2] === 'to') {
        // dnat ipx to <expr> . ... . numgen random mod N [offset O] map @slots: one branch per slot.
        const values: string[] = [];
        let j = i + 3;
        while (tokens[j] !== 'numgen') {
          const [v, next] = this.value(tokens, j);
          values.push(v);
          if (tokens[next] !== '.') throw new Error(`tracer: unknown dnat ${tokens.join(' ')}`);
          j = next + 1;
        }
        if (tokens[j + 1] !== 'random' || tokens[j + 2] !== 'mod') throw new Error(`tracer: unknown numgen ${tokens.join(' ')}`);
        const count = Number(tokens[j + 3]);
        const hasOffset = tokens[j + 4] === 'offset';
        const offset = hasOffset ? Number(tokens[j + 5]) : 0;
        const k = hasOffset ? j + 6 : j + 4;
        const name = tokens[k + 1] ?? '';
        if (tokens[k] !== 'map' || !name.startsWith('@')) throw new Error(`tracer: unknown dnat ${tokens.join(' ')}`);
        let slot = 0;
        while (slot < count - 1 && !this.chooser.next()) slot++;
        const value = lookup(this.table.sets.get(name.slice(1)), [...values, String(offset + slot)]);
        const [address, port] = value?.split(' . ') ?? [];
        // The renderer adds a slot element for every claimed frontend; a miss is its bug.
        if (address === undefined || port === undefined) throw new Error(`tracer: no ${name} element for ${[...values, offset + slot].join(' . ')}`);
        this.state.daddr = address;
        this.state.dport = Number(port);
        this.state.endpoint = formatHostPort(address, Number(port));
        return 'accept';
      }
      if (t === 'dnat' && tokens[i + 1] === 'to') {
        const target = tokens[i + 2] ?? '';
        const m = /^\[?([^\]]+?)\]?:(\d+)$/.exec(target);
        if (!m?.[1] || !m[2]) throw new Error(`tracer: bad dnat ${target}`);
        this.state.daddr = m[1];
        this.state.dport = Number(m[2]);
        this.state.endpoint = target;
        return 'accept';
      }
      if (t === 'update') {
        const close = tokens.indexOf('}', i);
        i = close + 1;
        continue;
      }
      if (t === 'meta' && tokens[i + 1] === 'mark' && tokens[i + 2] === 'set') {
        // meta mark set meta mark (or|xor) M
        const op = tokens[i + 5];
        const operand = Number(tokens[i + 6]);
        this.state.mark = op === 'or' ? (this.state.mark | operand) >>> 0 : (this.state.mark ^ operand) >>> 0;
        i += 7;
        continue;
      }
      if (t === 'meta' && tokens[i + 1] === 'mark' && tokens[i + 2] === '&') {
        const masked = (this.state.mark & Number(tokens[i + 3])) >>> 0;
        if (tokens[i + 4] !== '==') throw new Error(`tracer: unknown mark test ${tokens.join(' ')}`);
        if (masked !== Number(tokens[i + 5])) return 'next';
        i += 6;
        continue;
      }
      // A (possibly concatenated) expression followed by a relation, a lookup or a vmap.
      const values: string[] = [];
      let [v, j] = this.value(tokens, i);
      values.push(v);
      while (tokens[j] === '.') { [v, j] = this.value(tokens, j + 1); values.push(v); }
      const op = tokens[j] ?? '';
      if (op === 'vmap') {
        const verdict = lookup(this.table.sets.get((tokens[j + 1] ?? '').slice(1)), values);
        if (verdict === undefined) return 'next';
        const [kind, chain] = verdict.split(' ');
        if (kind === 'goto' || kind === 'jump') return { chain: chain ?? '', goto: kind === 'goto' };
        return verdict === 'drop' ? 'drop' : verdict === 'accept' ? 'accept' : (() => { throw new Error(`tracer: verdict ${verdict}`); })();
      }
      const negate = op === '!=';
      const operand = negate || op === '==' ? tokens[j + 1] ?? '' : op;
      const matched = operand.startsWith('@')
        ? lookup(this.table.sets.get(operand.slice(1)), values) !== undefined
        : values.length === 1 && this.equalsLiteral(values[0] ?? '', operand);
      if (matched === negate) return 'next';
      i = negate || op === '==' ? j + 2 : j + 1;
    }
    void depth;
    return 'next';
  }
}

const normalizeProtocol = (p: string): string => p.toLowerCase();

/** Trace the first packet of a connection through `ruleset`. Throws on a rule it cannot read. */
export function traceNft(ruleset: NftRuleset, packet: TracePacket, host: TraceHost = {}): TraceResult {
  const table = ruleset.tables[packet.family];
  const parse = (a: string): string => {
    const parsed = canonicalAddr(a, {}, packet.family);
    if (parsed === undefined) throw new Error(`tracer: ${a} is not an ${packet.family} address`);
    return parsed;
  };
  const local = new Set((host.localAddresses ?? [...(table.sets.get('nodeport-ips')?.elements.keys() ?? [])]).map((a) => canonicalAddr(a) ?? a));
  const isLocal = (address: string): boolean => local.has(address);
  const localCidrs = table.sets.get('local-cidrs');
  if (packet.fromLocalPod && localCidrs?.elements.size && lookup(localCidrs, [parse(packet.source)]) === undefined) {
    throw new Error(`tracer: fromLocalPod but ${packet.source} is outside the local CIDRs`);
  }
  const iifname = packet.fromNode ? '' : packet.inInterface ?? 'eth0';
  const branches: TraceResult['branches'] = [];
  const pending: boolean[][] = [[]];
  while (pending.length) {
    const prefix = pending.pop() ?? [];
    const chooser = new Chooser(prefix);
    const state: PacketState = { iifname, saddr: parse(packet.source), daddr: parse(packet.destination), dport: packet.port, proto: normalizeProtocol(packet.protocol), mark: 0, masquerade: false };
    const run = new Interpreter(table, state, chooser, isLocal, packet.fromNode === true);
    let outcome = run.runHook(packet.fromNode ? 'output' : 'prerouting');
    if (outcome === undefined) {
      const delivered = isLocal(state.daddr);
      outcome = run.runHook(delivered ? 'input' : packet.fromNode ? 'postrouting' : 'forward');
      if (outcome === undefined && !delivered && !packet.fromNode) outcome = run.runHook('postrouting');
    }
    const verdict: TraceResult['verdict'] = outcome === 'drop' ? 'DROP' : outcome === 'reject' ? 'REJECT' : state.endpoint ? 'DNAT' : 'ACCEPT';
    branches.push({ verdict, ...(state.endpoint && verdict === 'DNAT' ? { endpoint: state.endpoint } : {}), masquerade: state.masquerade });
    for (let k = prefix.length; k < chooser.decisions.length; k++) {
      if (!chooser.decisions[k]) pending.push([...chooser.decisions.slice(0, k), true]);
    }
  }
  const verdicts = new Set(branches.map((b) => b.verdict));
  const first = branches[0];
  if (!first) throw new Error('tracer: no outcome');
  const verdict = verdicts.has('DNAT') ? 'DNAT' : first.verdict;
  const endpoints = [...new Set(branches.flatMap((b) => (b.endpoint ? [b.endpoint] : [])))].sort();
  return { verdict, ...(verdict === 'DNAT' ? { endpoints } : {}), masquerade: branches.some((b) => b.masquerade), branches };
}

