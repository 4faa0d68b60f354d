import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { renderIptables } from './iptables-render.js';
import { renderNftables } from './nft-render.js';
import { nftFullSyncScript } from './nft-sync.js';
import type { RenderInput } from './plan.js';
import { makeEndpoint, makeExposure, makeInput, makeServicePlan } from './testing/builders.js';

// Addresses: see testing/builders.ts.
function inputWithNames(namespace: string, name: string, portName: string, policy: string): RenderInput {
  const service = makeServicePlan(namespace, name, (s) => {
    s.ports = [{ name: portName, protocol: 'TCP', port: 80, nodePort: 30080 }];
    s.loadBalancerIPs = ['198.51.100.7'];
    s.sessionAffinity = { type: 'ClientIP', timeoutSeconds: 60 };
    s.endpoints = [makeEndpoint('10.244.2.1', (e) => { e.ports = [{ name: portName, port: 8080 }]; })];
  });
  return makeInput([service], (n) => {
    n.exposures = [makeExposure(name, (x) => { x.policy = { namespace, name: policy }; })];
  });
}

/** The script with object ids and comments taken out, lines sorted: its structure. */
function structure(script: string): string[] {
  return script.replace(/ comment "[^"]*"/g, '').replace(/ -m comment --comment "[^"]*"/g, '')
    .replace(/[0-9a-f]{16}/g, 'ID').split('\n').sort();
}

const hostile = fc.oneof(fc.string({ minLength: 1, maxLength: 40 }), fc.constantFrom('"; flush ruleset; "', 'a\nadd table ip evil', '$(reboot)', 'x" comment "y', '-j ACCEPT', 'web'));

describe('user-controlled strings', () => {
  const fixed = inputWithNames('ns1', 'web', 'http', 'policy1');
  const fixedNft = renderNftables(fixed);
  const fixedIpt = renderIptables(fixed);

  it('the fixed names render the exposure and the Service (so the comparison means something)', () => {
    expect(fixedNft.counts).toEqual({ services: 1, endpoints: 1, exposures: 1 });
    expect(nftFullSyncScript(fixedNft)).toContain('comment "ns1/web:http"');
  });

  it('property: names, port names and policy names never change the structure of the nft script', () => {
    fc.assert(fc.property(hostile, hostile, hostile, hostile, (namespace, name, portName, policy) => {
      const script = nftFullSyncScript(renderNftables(inputWithNames(namespace, name, portName, policy)));
      expect(structure(script)).toEqual(structure(nftFullSyncScript(fixedNft)));
      for (const [comment] of script.matchAll(/comment "[^"]*"/g)) expect(comment).toMatch(/^comment "[a-z0-9][a-z0-9./:-]*"$/);
    }), { numRuns: 300 });
  });

  it('property: ... nor of the iptables-restore input', () => {
    fc.assert(fc.property(hostile, hostile, hostile, hostile, (namespace, name, portName, policy) => {
      const { IPv4: ipv4, IPv6: ipv6 } = renderIptables(inputWithNames(namespace, name, portName, policy));
      expect(structure(ipv4)).toEqual(structure(fixedIpt.IPv4));
      expect(structure(ipv6)).toEqual(structure(fixedIpt.IPv6));
    }), { numRuns: 200 });
  });

  it('a label longer than nft accepts in a comment (128 characters) is left out, not an invalid script', () => {
    const long = 'a'.repeat(63);
    const script = nftFullSyncScript(renderNftables(inputWithNames(long, long, 'http', 'p')));
    expect(script).not.toContain('renderer bug');
    expect(script).not.toContain(`comment "${long}`);
  });

  it('a name that is not a DNS label never appears in the script', () => {
    const script = nftFullSyncScript(renderNftables(inputWithNames('ns1', 'x" comment "y', 'http', 'p')));
    expect(script).not.toContain('x"');
    expect(script).not.toMatch(/comment "ns1\//);
  });
});
