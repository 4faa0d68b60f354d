export { ExecError, classifyFailure, isExecError } from './errors.js';
export type { ExecErrorKind } from './errors.js';
export { createExec, withTarget } from './exec.js';
export type { Exec, ExecResult, ExecTarget, RunOptions } from './exec.js';
export { FakeExec } from './fake.js';
export type { ExecCall, FakeOutcome } from './fake.js';
export {
  conntrackDeleteUdp, conntrackDeleteUdpBatch, detectBackend, iptables, iptablesRestore, iptablesSave, nftApply, nftCheck, nftListTable,
} from './tools.js';
export type { Backend, BackendPreference, IpFamily, IptablesVariant, NftFamily, RestoreOptions, UdpFlowFilter } from './tools.js';
