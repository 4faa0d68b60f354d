import { describe, expect, it } from 'vitest';
import { classifyFailure } from './errors.js';
import type { ExecErrorKind } from './errors.js';

// stderr texts captured from nft 1.0.6, iptables-nft 1.8.9, conntrack 1.4.7 and iproute2 6.1.
const samples: [string, string, ExecErrorKind][] = [
  ['nft delete of an absent table', 'Error: Could not process rule: No such file or directory\ndelete table ip nope\n', 'notFound'],
  ['nft list of an absent table', 'Error: No such file or directory\nlist table ip nope\n', 'notFound'],
  ['nft syntax error', '/dev/stdin:1:11-12: Error: syntax error, unexpected ip, expecting string\nadd tabel ip x\n', 'invalid'],
  ['nft create of an existing table', 'Error: Could not process rule: File exists\ncreate table ip x\n', 'exists'],
  ['nft create of an existing element', '/dev/stdin:3:25-31: Error: Could not process rule: File exists\n', 'exists'],
  ['nft rule in an absent chain', '/dev/stdin:1:15-21: Error: Could not process rule: No such file or directory\n', 'notFound'],
  ['nft without CAP_NET_ADMIN', 'Error: Could not process rule: Operation not permitted\n', 'permission'],
  ['nft value out of range', 'Error: Could not process rule: Numerical result out of range\n', 'invalid'],
  ['binary missing inside a namespace', 'exec of "nft" failed: No such file or directory\n', 'missingBinary'],
  ['namespace missing', 'Cannot open network namespace "np-x": No such file or directory\n', 'notFound'],
  ['iptables-restore unknown chain', 'iptables-restore: line 2 failed: No chain/target/match by that name.\n', 'invalid'],
  ['iptables-restore unknown option', 'iptables-restore v1.8.9 (nf_tables): unknown option "--bogus"\nError occurred at line: 2\n', 'invalid'],
  ['iptables -C of an absent rule', 'iptables: Bad rule (does a matching rule exist in that chain?).\n', 'notFound'],
  ['iptables-legacy -C of an absent rule', 'iptables: No chain/target/match by that name.\n', 'notFound'],
  ['conntrack with nothing to delete', 'conntrack v1.4.7 (conntrack-tools): 0 flow entries have been deleted.\n', 'notFound'],
  ['anything else', 'Error: Device or resource busy\n', 'other'],
];

describe('classifyFailure', () => {
  it.each(samples)('%s', (_name, stderr, kind) => {
    expect(classifyFailure(stderr)).toBe(kind);
  });
});
