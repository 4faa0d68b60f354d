import type { IPFamily } from '@natplan/netaddr';
import type { ExecError } from '../exec/index.js';
import type { Backend, IptablesVariant, StaleUdpFlow } from '../exec/index.js';
import type { StaleUdpCleanerOptions } from './conntrack.js';

/** UDP conntrack entries to forget once the new rules are in (render/stale-udp.ts). */
export type { StaleUdpFlow };

/**
 * What the applier needs from the pure renderer, passed in rather than imported so the
 * applier can be tested with hand-written scripts and survives renames in the renderer.
 * `I` is the render input (plans + identity), `R` the rendered ruleset model.
 */
export interface RulesetPort<I, R> {
  render(input: I): R;
  /** UDP endpoints present in `committed` and gone (or no longer reachable) in `desired`. */
  staleUdpEndpoints(committed: R, desired: R): readonly StaleUdpFlow[];
  /** Stable digest of the ruleset, reported in NodeNatPlan status. */
  digest(ruleset: R): string;
  counts(ruleset: R): RulesetCounts;
  /**
   * Whether committing `desired` needs a full sync whatever the applier's own state (the
   * renderer lost track of what changed since the last commit). Absent: never.
   */
  needsFullSync?(desired: R): boolean;
  /** `desired` is in the kernel: a renderer that keeps a journal since the last commit restarts it. */
  committed?(desired: R): void;
}

export interface NftScriptPort<I, R> extends RulesetPort<I, R> {
  /** `family name` of each table the agent owns, e.g. 'ip natplan'. */
  readonly tables: readonly string[];
  /** One transaction that makes the tables exactly `desired`, whatever they hold now;
   * `previous` (the last committed state, if any) lets it delete objects no longer wanted. */
  fullSyncScript(desired: R, previous?: R): string;
  /** One transaction from `committed` to `desired`, or null when nothing changed. */
  incrementalScript(committed: R, desired: R): string | null;
  /** A full sync split into transactions of at most `maxElements` set/map elements each;
   * only for a start where none of `tables` exists (between chunks, Services are missing). */
  coldStartScripts(desired: R, maxElements: number): readonly string[];
  /** Removes everything the agent installed; must succeed when nothing is installed. */
  cleanupScript(): string;
  /** What the kernel check reads back from `ruleset` (see NftSkeleton). */
  skeleton(ruleset: R): NftSkeleton;
}

/**
 * The part of a ruleset a kernel check verifies, whatever the number of Services: the
 * static chains (whose rules are checked by handle) and one element of each non-empty
 * static set or map (so a flushed map is noticed). `table` is `family name`.
 */
export interface NftSkeleton {
  readonly chains: readonly { readonly table: string; readonly chain: string; readonly rules: readonly string[] }[];
  readonly elements: readonly { readonly table: string; readonly set: string; readonly key: string }[];
}

/** Per family: the agent's chains that exist (or, for restore input, the text to restore). */
export type PerFamily<T> = Readonly<Record<IPFamily, T>>;

/** A rule in a built-in chain that sends packets into the agent's chains. */
export interface HookJump {
  readonly table: string;
  readonly chain: string;
  readonly args: readonly string[];
}

/** Table -> chain -> its rules (`-A CHAIN ...` lines, in order). */
export type IptablesChains = ReadonlyMap<string, ReadonlyMap<string, readonly string[]>>;

export interface IptablesPort<I, R> extends RulesetPort<I, R> {
  /** Prefix of every chain the agent owns (e.g. 'NATPLAN-'), to find them in iptables-save. */
  readonly chainPrefix: string;
  /** The tables the agent's chains live in, e.g. ['nat', 'filter']. */
  readonly tables: readonly string[];
  /** The agent's chains per family, as rendered once per sync: the applier writes those that changed. */
  chains(desired: R): PerFamily<IptablesChains>;
  /** Jumps from built-in chains into ours; restore syntax cannot add them idempotently. */
  hookJumps(): readonly HookJump[];
  /** Input that empties and deletes the agent's chains (after the hook jumps are gone). */
  cleanupInput(existingChains: PerFamily<readonly string[]>): PerFamily<string>;
  /** The agent's chains that always exist whatever the plans say; the kernel check reads their first rule. */
  readonly staticChains: readonly string[];
}

/** Numbers for NodeNatPlan status and metrics; the renderer decides what it counts. */
export type RulesetCounts = Readonly<Record<string, number>>;

/**
 * - `full`: one transaction rewrote the whole table (start, after a failure, periodic repair).
 * - `coldStart`: like full, split into several transactions because the ruleset is large.
 * - `incremental`: one transaction with only what changed since the last commit.
 * - `unchanged`: nothing to do.
 */
export type ApplyMode = 'full' | 'coldStart' | 'incremental' | 'unchanged';

export type ApplyResult = ApplySuccess | ApplyFailure;

export interface ApplySuccess {
  readonly ok: true;
  readonly mode: ApplyMode;
  readonly durationMs: number;
  /** Digest of the committed ruleset; computed on first read (it costs a full render). */
  readonly digest: string;
  readonly counts: RulesetCounts;
  /** Endpoints whose UDP conntrack entries are deleted after the commit. */
  readonly staleUdpCleared: readonly StaleUdpFlow[];
  /** False when the deletion outlived the sync's wait and goes on in the background. */
  readonly staleUdpFinished: boolean;
  /** conntrack failures do not fail the sync (the rules are right); they are reported here. */
  readonly conntrackErrors: readonly Error[];
  /** What the kernel was found to hold after this sync (see KernelCheck). */
  readonly kernel: KernelCheck;
  /**
   * Set when the check before this sync found that the kernel no longer held the last
   * commit (someone flushed, deleted or edited our rules): the sync was made full, which
   * repaired it. The text says what was missing.
   */
  readonly driftRepaired?: string;
  /** Where the sync's time went (ms), for the agent's debug log and the benchmarks. */
  readonly stagesMs: SyncStages;
}

/** Milliseconds per step of one sync; a step that did not run is 0. */
export interface SyncStages {
  readonly render: number;
  readonly checkBefore: number;
  readonly commit: number;
  readonly checkAfter: number;
  readonly conntrack: number;
}

/**
 * The result of reading the kernel back: `confirmed` when it holds what the agent
 * committed last (the commit marker, the static chains' rules, a sample element of each
 * static set); otherwise `problem` says what is missing or why the check could not run.
 */
export type KernelCheck = { readonly confirmed: true } | { readonly confirmed: false; readonly problem: string };

export interface ApplyFailure {
  readonly ok: false;
  readonly mode: ApplyMode;
  readonly durationMs: number;
  /** Classified tool error (ExecError) or a renderer exception; the previous rules are still in place. */
  readonly error: ExecError | Error;
  /** Short text for the Degraded condition, quoting the tool's stderr. */
  readonly reason: string;
}

/** The one interface the controller sees, whichever backend enforces the plans. */
export interface Applier<I> {
  readonly backend: Backend;
  /** Renders and commits `desired`; never throws, never runs two syncs at once. */
  apply(desired: I): Promise<ApplyResult>;
  /** Makes the next apply a full sync (e.g. the controller suspects drift). */
  requestFullSync(): void;
  /**
   * Reads the kernel back against the last commit without syncing (cheap, constant cost);
   * when it lost something, the next apply is full and reports `driftRepaired`.
   * Undefined when there is nothing to check (no commit yet, or a full sync is due anyway).
   */
  verifyKernel(): Promise<KernelCheck | undefined>;
  /** Removes everything the agent installed; the next apply starts cold. */
  cleanup(): Promise<void>;
}

export interface ApplierOptions {
  /** Milliseconds clock; injected so tests can move time. Defaults to performance.now. */
  readonly now?: () => number;
  /**
   * Every this long the next sync is full even when nothing seems wrong: this is the
   * backstop of drift repair (someone flushed or edited our table). Listing and comparing
   * the whole table would cost as much as rewriting it at 30k Services, so we simply
   * rewrite it. The interval stretches to 100x the last full sync's duration when that is
   * longer. Between repairs, every sync first reads back a small constant part of the
   * kernel state (KernelCheck) and turns full when it is not what was committed.
   */
  readonly fullSyncIntervalMs?: number;
  /** A cold start larger than this many elements is split into chunks of this size. */
  readonly maxElementsPerTransaction?: number;
  /** iptables backend only: which iptables userspace the host uses. */
  readonly iptablesVariant?: IptablesVariant;
  /** Kill a single nft / iptables-restore run after this long (default 60 s). */
  readonly commandTimeoutMs?: number;
  /** Batching, timeouts and the sync's wait for stale-UDP conntrack cleanup. */
  readonly conntrack?: StaleUdpCleanerOptions;
}

export const DEFAULT_FULL_SYNC_INTERVAL_MS = 5 * 60_000;
export const DEFAULT_MAX_ELEMENTS_PER_TRANSACTION = 50_000;
