/**
 * A packet tracer over rendered iptables-restore input, the twin of nft-trace.ts: the same
 * trace tables run over both backends, so they are held to the same behaviour. It reads
 * only the match and target syntax natplan emits, and explores every `statistic` outcome.
 */
import { canonicalAddr, parseAddr, parsePrefix, prefixContains } from '@natplan/netaddr';
import type { IptablesJump } from '../iptables-render.js';
import { iptablesHookJumps } from '../iptables-render.js';
import type { TraceHost, TracePacket, TraceResult } from './nft-trace.js';

type Rules = Map<string, string[][]>; // chain -> rules as argument lists
interface Tables { nat: Rules; filter: Rules }
interface State { iifname: string; saddr: string; daddr: string; dport: number; origDaddr: string; origDport: number; proto: string; mark: number; masquerade: boolean; endpoint?: string }
type Outcome = 'accept' | 'drop' | 'reject' | undefined;

export function parseRestoreInput(text: string): Tables {
  const tables: Tables = { nat: new Map(), filter: new Map() };
  let current: Rules | undefined;
  for (const line of text.split('\n')) {
    if (line.startsWith('*')) current = line === '*nat' ? tables.nat : line === '*filter' ? tables.filter : undefined;
    else if (line.startsWith(':') && current) current.set(line.slice(1).split(' ')[0] ?? '', []);
    else if (line.startsWith('-A ') && current) {
      const args = line.match(/"[^"]*"|\S+/g) ?? [];
      current.get(args[1] ?? '')?.push(args.slice(2));
    }
  }
  return tables;
}

const inCidr = (cidrText: string, address: string): boolean => {
  const cidr = parsePrefix(cidrText);
  const parsed = parseAddr(address);
  return cidr !== undefined && parsed !== undefined && prefixContains(cidr, parsed);
};

class Run {
  decisions: boolean[] = [];
  constructor(private readonly tables: Tables, readonly state: State, private readonly prefix: boolean[],
    private readonly isLocal: (a: string) => boolean, private readonly fromNode: boolean) {}

  private choose(): boolean {
    const value = this.prefix[this.decisions.length] ?? false;
    this.decisions.push(value);
    return value;
  }

  hook(table: 'nat' | 'filter', chain: string, jumps: IptablesJump[]): Outcome {
    for (const jump of jumps.filter((j) => j.table === table && j.chain === chain)) {
      const outcome = this.rule(this.tables[table], jump.args, 0);
      if (outcome === 'drop' || outcome === 'reject' || outcome === 'accept') return outcome;
    }
    return undefined;
  }

  private chain(rules: Rules, name: string, depth: number): Outcome | 'return' {
    if (depth > 32) throw new Error(`iptables tracer: depth exceeded at ${name}`);
    const list = rules.get(name);
    if (!list) throw new Error(`iptables tracer: no chain ${name}`);
    for (const args of list) {
      const outcome = this.rule(rules, args, depth);
      if (outcome === 'return') return undefined;
      if (outcome !== undefined) return outcome;
    }
    return undefined;
  }

  /** undefined: continue with the next rule. */
  private rule(rules: Rules, args: string[], depth: number): Outcome | 'return' {
    const s = this.state;
    let negate = false;
    for (let i = 0; i < args.length; i++) {
      const a = args[i] ?? '';
      const next = args[i + 1] ?? '';
      const test = (ok: boolean): boolean => { const pass = ok !== negate; negate = false; return pass; };
      switch (a) {
        case '!': negate = true; continue;
        case '-m': i++; continue; // module loads; their options follow
        case '-d': i++; if (!test(inCidr(next, s.daddr))) return undefined; continue;
        case '-s': i++; if (!test(inCidr(next, s.saddr))) return undefined; continue;
        // `+` at the end: every interface whose name starts with the rest.
        case '-i': i++; if (!test(next.endsWith('+') ? s.iifname.startsWith(next.slice(0, -1)) : s.iifname === next)) return undefined; continue;
        case '-p': i++; if (!test(next === s.proto)) return undefined; continue;
        case '--dport': i++; if (!test(Number(next) === s.dport)) return undefined; continue;
        case '--comment': i++; continue;
        case '--dst-type': i++; if (!test(this.isLocal(s.daddr))) return undefined; continue;
        case '--src-type': i++; if (!test(this.fromNode || this.isLocal(s.saddr))) return undefined; continue;
        // Every traced packet is the first of its connection (NEW); DNAT: our rules rewrote it.
        case '--ctstate': i++; if (!test(next.split(',').some((v) => v === 'NEW' || (v === 'DNAT' && s.endpoint !== undefined)))) return undefined; continue;
        case '--ctorigdst': i++; if (!test(inCidr(next, s.origDaddr))) return undefined; continue;
        case '--ctorigdstport': i++; if (!test(Number(next) === s.origDport)) return undefined; continue;
        case '--mode': i++; continue;
        case '--probability': i++; if (!this.choose()) return undefined; continue;
        case '--name': case '--seconds': i++; continue;
        case '--rcheck': return undefined; // no affinity entry yet: first connection
        case '--reap': case '--set': continue;
        case '--mark': {
          i++;
          const [value, mask] = next.split('/').map(Number);
          if (!test(((s.mark & (mask ?? 0xffffffff)) >>> 0) === value)) return undefined;
          continue;
        }
        case '-j': return this.target(rules, args.slice(i + 1), depth);
        default: throw new Error(`iptables tracer: unknown argument ${a} in ${args.join(' ')}`);
      }
    }
    return undefined;
  }

  private target(rules: Rules, args: string[], depth: number): Outcome | 'return' {
    const [name, option, value] = args;
    switch (name) {
      case 'RETURN': return 'return';
      case 'DROP': return 'drop';
      case 'ACCEPT': return 'accept';
      case 'REJECT': return 'reject';
      case 'MASQUERADE': this.state.masquerade = true; return 'accept';
      case 'MARK':
        this.state.mark = option === '--or-mark' ? (this.state.mark | Number(value)) >>> 0 : (this.state.mark ^ Number(value)) >>> 0;
        return undefined;
      case 'DNAT': {
        const m = /^\[?([^\]]+?)\]?:(\d+)$/.exec(value ?? '');
        if (!m?.[1] || !m[2]) throw new Error(`iptables tracer: bad DNAT ${value}`);
        this.state.daddr = m[1];
        this.state.dport = Number(m[2]);
        this.state.endpoint = value;
        return 'accept';
      }
      default: {
        const outcome = this.chain(rules, name ?? '', depth + 1);
        return outcome === 'return' ? undefined : outcome;
      }
    }
  }
}

/** Trace the first packet of a connection through rendered iptables-restore input. */
export function traceIptables(rendered: { IPv4: string; IPv6: string }, packet: TracePacket, host: TraceHost = {}): TraceResult {
  const tables = parseRestoreInput(packet.family === 'IPv4' ? rendered.IPv4 : rendered.IPv6);
  const jumps = iptablesHookJumps();
  const canonical = (a: string): string => {
    const parsed = canonicalAddr(a, {}, packet.family);
    if (parsed === undefined) throw new Error(`iptables tracer: ${a} is not an ${packet.family} address`);
    return parsed;
  };
  // Default local addresses: the node-port destinations of NATPLAN-SERVICES.
  const defaults = (tables.nat.get('NATPLAN-SERVICES') ?? []).filter((r) => r.includes('NATPLAN-NODEPORTS') && r[0] === '-d').map((r) => (r[1] ?? '').split('/')[0] ?? '');
  const local = new Set((host.localAddresses ?? defaults).map((a) => canonicalAddr(a) ?? a));
  const isLocal = (a: string): boolean => local.has(a);
  const branches: TraceResult['branches'] = [];
  const pending: boolean[][] = [[]];
  while (pending.length) {
    const prefix = pending.pop() ?? [];
    const daddr = canonical(packet.destination);
    const state: State = { iifname: packet.fromNode ? '' : packet.inInterface ?? 'eth0', saddr: canonical(packet.source), daddr, dport: packet.port, origDaddr: daddr, origDport: packet.port, proto: packet.protocol.toLowerCase(), mark: 0, masquerade: false };
    const run = new Run(tables, state, prefix, isLocal, packet.fromNode === true);
    let outcome: Outcome;
    if (packet.fromNode) {
      outcome = run.hook('nat', 'OUTPUT', jumps);
      if (outcome !== 'drop' && outcome !== 'reject') outcome = run.hook('filter', 'OUTPUT', jumps);
    } else {
      outcome = run.hook('nat', 'PREROUTING', jumps);
    }
    if (outcome !== 'drop' && outcome !== 'reject') {
      const delivered = isLocal(state.daddr);
      if (delivered) outcome = run.hook('filter', 'INPUT', jumps);
      else {
        outcome = packet.fromNode ? undefined : run.hook('filter', 'FORWARD', jumps);
        if (outcome !== 'drop' && outcome !== 'reject') outcome = run.hook('nat', 'POSTROUTING', jumps);
      }
    }
    const verdict: TraceResult['verdict'] = outcome === 'drop' ? 'DROP' : outcome === 'reject' ? 'REJECT' : state.endpoint ? 'DNAT' : 'ACCEPT';
    branches.push({ verdict, ...(verdict === 'DNAT' && state.endpoint ? { endpoint: state.endpoint } : {}), masquerade: state.masquerade });
    for (let k = prefix.length; k < run.decisions.length; k++) {
      if (!run.decisions[k]) pending.push([...run.decisions.slice(0, k), true]);
    }
  }
  const first = branches[0];
  if (!first) throw new Error('iptables tracer: no outcome');
  const verdict = branches.some((b) => b.verdict === 'DNAT') ? 'DNAT' : first.verdict;
  const endpoints = [...new Set(branches.flatMap((b) => (b.endpoint ? [b.endpoint] : [])))].sort();
  return { verdict, ...(verdict === 'DNAT' ? { endpoints } : {}), masquerade: branches.some((b) => b.masquerade), branches };
}
