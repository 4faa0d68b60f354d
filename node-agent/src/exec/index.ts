export { ExecError, classifyFailure, isExecError } from './errors.js';
export type { ExecErrorKind } from './errors.js';
export { createExec, withTarget } from './exec.js';
export type { Exec, ExecResult, ExecTarget, RunOptions } from './exec.js';
export { FakeExec } from './fake.js';
export type { ExecCall, FakeOutcome } from './fake.js';
export {
  conntrackDeleteEntries, conntrackDeleteUdp, conntrackListUdp, detectBackend, parseUdpConntrack, iptables, iptablesRestore, iptablesSave, nftApply, nftCheck, nftListTable,
} from './tools.js';
export type { Backend, BackendPreference, IptablesVariant, NftFamily, RestoreOptions, UdpConntrackEntry } from './tools.js';
export type { StaleUdpFlow } from '../render/stale-udp.js';
