/**
 * A small closed object model of the nftables objects natplan owns (in the spirit of
 * sigs.k8s.io/knftables, written from scratch). Objects are plain data; `transaction.ts`
 * turns operations on them into an `nft -f` script.
 */
import { IP_FAMILIES, type IPFamily } from '@natplan/netaddr';

export type { IPFamily } from '@natplan/netaddr';

/** The one private table per family. */
export const TABLE_NAME = 'natplan';
export const FAMILIES: readonly IPFamily[] = IP_FAMILIES;

/**
 * nft's table family and address-match keyword for an IP family (`table ip natplan`,
 * `ip6 daddr`). Only the text an `nft -f` script is made of uses it; everything else
 * speaks IPFamily. Hashes of rule text (chain ids, the ruleset digest) hash this too, so
 * names and digests did not change when the model moved to IPFamily.
 */
export const nftFamily = (family: IPFamily): 'ip' | 'ip6' => (family === 'IPv4' ? 'ip' : 'ip6');

export type ChainHook = 'prerouting' | 'input' | 'forward' | 'output' | 'postrouting';

export interface BaseChainSpec {
  type: 'nat' | 'filter';
  hook: ChainHook;
  /** Numeric priority; printed with nft's keywords where one fits (dstnat = -100, srcnat = 100). */
  priority: number;
}

export interface NftTable { kind: 'table'; family: IPFamily }
export interface NftChain { kind: 'chain'; family: IPFamily; name: string; base?: BaseChainSpec }
export interface NftRule { kind: 'rule'; family: IPFamily; chain: string; rule: string }
export interface NftSet {
  kind: 'set' | 'map';
  family: IPFamily;
  name: string;
  /** `ipv4_addr . inet_proto . inet_service` for a set, `... : verdict` for a map. */
  type: string;
  /** `type` is an nft `typeof` expression list (e.g. `numgen random mod 2 : ip daddr . tcp dport`). */
  typeOf?: boolean;
  flags?: readonly ('interval' | 'dynamic' | 'timeout')[];
  /** Default element timeout in seconds (dynamic affinity sets). */
  timeoutSeconds?: number;
}
export interface NftElement {
  kind: 'element';
  family: IPFamily;
  /** Name of the set or map. */
  set: string;
  /** The key, already canonical (e.g. `10.96.0.10 . tcp . 80`). */
  key: string;
  /** A map element's value (e.g. `goto svc-0123456789abcdef`, optionally followed by ` comment "label"`), absent in sets. */
  value?: string;
}

export type NftObject = NftTable | NftChain | NftRule | NftSet | NftElement;

/** Desired content of one chain. */
export interface ChainState {
  name: string;
  base?: BaseChainSpec;
  rules: string[];
}

/** Desired definition and elements of one set or map. */
export interface SetState {
  definition: NftSet;
  /** key -> value ('' for plain sets). */
  elements: Map<string, string>;
}

export interface TableState {
  family: IPFamily;
  chains: Map<string, ChainState>;
  sets: Map<string, SetState>;
}
