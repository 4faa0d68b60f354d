import { describe, expect, it } from 'vitest';
import {
  checkNatPmpResult, decodeNatPmpResponse, encodeExternalAddressRequest, encodeNatPmpMapRequest, natPmpMapping, NatPmpResult,
} from './natpmp.js';
import { GatewayRefusal } from './types.js';

// Byte vectors from RFC 6886 sections 3.2 (external address) and 3.3 (mapping).
const hex = (text: string) => Uint8Array.from(Buffer.from(text.replace(/\s+/g, ''), 'hex'));
const asHex = (bytes: Uint8Array) => Buffer.from(bytes).toString('hex');

describe('NAT-PMP requests', () => {
  it('external address request: version 0, opcode 0', () => {
    expect(asHex(encodeExternalAddressRequest())).toBe('0000');
  });

  it.each([
    ['map TCP', { protocol: 'tcp', internalPort: 8080, suggestedExternalPort: 8081, lifetimeSeconds: 7200 }, '00 02 0000 1f90 1f91 00001c20'],
    ['map UDP', { protocol: 'udp', internalPort: 53, suggestedExternalPort: 0, lifetimeSeconds: 60 }, '00 01 0000 0035 0000 0000003c'],
    ['delete (lifetime 0 and external port 0, section 3.4)', { protocol: 'tcp', internalPort: 8080, suggestedExternalPort: 8081, lifetimeSeconds: 0 },
      '00 02 0000 1f90 0000 00000000'],
  ] as const)('%s', (_name, request, expected) => {
    expect(asHex(encodeNatPmpMapRequest(request))).toBe(asHex(hex(expected)));
  });
});

describe('NAT-PMP responses', () => {
  it('reads the external address answer', () => {
    expect(decodeNatPmpResponse(hex('00 80 0000 0000002a 0b120001'))).toEqual({
      kind: 'external-address', resultCode: 0, epochSeconds: 42, externalAddress: '11.18.0.1',
    });
  });

  it('reads a TCP map answer into a mapping with the separately learned address', () => {
    const decoded = decodeNatPmpResponse(hex('00 82 0000 0000002a 1f90 1f91 00000e10'));
    expect(decoded).toEqual({ kind: 'map', protocol: 'tcp', resultCode: 0, epochSeconds: 42, internalPort: 8080, externalPort: 8081, lifetimeSeconds: 3600 });
    expect(natPmpMapping(decoded as Extract<typeof decoded, { kind: 'map' }>, '11.18.0.1')).toEqual({
      via: 'nat-pmp', protocol: 'tcp', internalPort: 8080, externalPort: 8081, externalAddress: '11.18.0.1', lifetimeSeconds: 3600, epochSeconds: 42,
    });
  });

  it('reads a UDP map answer', () => {
    expect(decodeNatPmpResponse(hex('00 81 0000 00000001 0035 0035 0000003c'))).toMatchObject({ kind: 'map', protocol: 'udp', externalPort: 53 });
  });

  it.each([
    [NatPmpResult.UNSUPPORTED_VERSION, 'unsupported'],
    [NatPmpResult.NOT_AUTHORIZED, 'not-authorized'],
    [NatPmpResult.NETWORK_FAILURE, 'network-failure'],
    [NatPmpResult.OUT_OF_RESOURCES, 'no-resources'],
    [NatPmpResult.UNSUPPORTED_OPCODE, 'unsupported'],
  ])('result %i is the refusal %s', (code, reason) => {
    expect(() => checkNatPmpResult(code)).toThrow(GatewayRefusal);
    try { checkNatPmpResult(code); } catch (error) { expect(error).toMatchObject({ reason, via: 'nat-pmp', resultCode: code }); }
  });

  it.each([
    ['a request', hex('00 02 0000 1f90 1f91 00001c20')],
    ['a PCP datagram', hex('02 81 0000 00000000 00000000')],
    ['a short datagram', hex('00 80 00')],
    ['an unknown opcode', hex('00 83 0000 00000001 0035 0035 0000003c')],
  ])('ignores %s', (_name, datagram) => {
    expect(decodeNatPmpResponse(datagram)).toBeUndefined();
  });
});
