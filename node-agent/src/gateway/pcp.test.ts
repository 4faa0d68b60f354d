import { describe, expect, it } from 'vitest';
import { answersRequest, decodePcpResponse, encodePcpMapRequest, judgePcpResponse, PcpResult } from './pcp.js';
import type { PcpMapRequest } from './pcp.js';
import { GatewayRefusal, UnsupportedVersion } from './types.js';

// Byte vectors written out from RFC 6887 figures 2 (request header), 3 (response header),
// 9 (MAP opcode) and 11/12 (THIRD_PARTY, PREFER_FAILURE options); addresses are
// IPv4-mapped (::ffff:a.b.c.d, section 5).
const hex = (text: string) => Uint8Array.from(Buffer.from(text.replace(/\s+/g, ''), 'hex'));
const NONCE = hex('0102030405060708090a0b0c');
const V4 = (a: string) => `00000000 00000000 0000ffff ${a}`;

function makeRequest(change: (r: PcpMapRequest) => PcpMapRequest = (r) => r): PcpMapRequest {
  return change({
    protocol: 'tcp', internalPort: 8080, suggestedExternalPort: 8080, lifetimeSeconds: 7200,
    clientAddress: '172.18.0.2', nonce: NONCE,
  });
}

const MAP_REQUEST = `02 01 0000  00001c20  ${V4('ac120002')}  0102030405060708090a0b0c  06 000000  1f90 1f90  ${V4('00000000')}`;

describe('encodePcpMapRequest', () => {
  it.each([
    ['a TCP map with "any" external address', makeRequest(), MAP_REQUEST],
    ['a UDP map letting the gateway pick the port', makeRequest((r) => ({ ...r, protocol: 'udp', suggestedExternalPort: 0 })),
      `02 01 0000  00001c20  ${V4('ac120002')}  0102030405060708090a0b0c  11 000000  1f90 0000  ${V4('00000000')}`],
    ['a delete (lifetime 0)', makeRequest((r) => ({ ...r, lifetimeSeconds: 0 })),
      `02 01 0000  00000000  ${V4('ac120002')}  0102030405060708090a0b0c  06 000000  1f90 1f90  ${V4('00000000')}`],
    ['a suggested external address', makeRequest((r) => ({ ...r, suggestedExternalAddress: '11.18.0.1' })),
      `02 01 0000  00001c20  ${V4('ac120002')}  0102030405060708090a0b0c  06 000000  1f90 1f90  ${V4('0b120001')}`],
    ['THIRD_PARTY and PREFER_FAILURE options', makeRequest((r) => ({ ...r, thirdPartyAddress: '172.18.0.3', preferFailure: true })),
      `${MAP_REQUEST}  01 00 0010 ${V4('ac120003')}  02 00 0000`],
    ['an IPv6 client', makeRequest((r) => ({ ...r, clientAddress: '2001:db8::2' })),
      `02 01 0000  00001c20  20010db8 00000000 00000000 00000002  0102030405060708090a0b0c  06 000000  1f90 1f90  ${V4('00000000')}`],
  ])('%s', (_name, request, expected) => {
    expect(Buffer.from(encodePcpMapRequest(request)).toString('hex')).toBe(Buffer.from(hex(expected)).toString('hex'));
  });

  it('is a multiple of 4 bytes and 60 bytes without options (section 7)', () => {
    expect(encodePcpMapRequest(makeRequest())).toHaveLength(60);
  });

  it('rejects a nonce that is not 12 bytes', () => {
    expect(() => encodePcpMapRequest(makeRequest((r) => ({ ...r, nonce: new Uint8Array(8) })))).toThrow(/12 bytes/);
  });
});

const response = (result: string, lifetime = '00000e10', body = `0102030405060708090a0b0c 06 000000 1f90 1f91 ${V4('0b120001')}`) =>
  hex(`02 81 00 ${result}  ${lifetime}  0000002a  000000000000000000000000  ${body}`);

describe('decodePcpResponse and judgePcpResponse', () => {
  it('reads a granted mapping: external address, port, lifetime, epoch', () => {
    const decoded = decodePcpResponse(response('00'))!;
    expect(answersRequest(decoded, makeRequest())).toBe(true);
    expect(judgePcpResponse(decoded, 'tcp')).toEqual({
      via: 'pcp', protocol: 'tcp', internalPort: 8080, externalPort: 8081, externalAddress: '11.18.0.1',
      lifetimeSeconds: 3600, epochSeconds: 42,
    });
  });

  it.each([
    [PcpResult.NOT_AUTHORIZED, 'not-authorized', false],
    [PcpResult.MALFORMED_REQUEST, 'malformed', false],
    [PcpResult.UNSUPP_OPCODE, 'unsupported', false],
    [PcpResult.UNSUPP_OPTION, 'unsupported', false],
    [PcpResult.MALFORMED_OPTION, 'malformed', false],
    [PcpResult.NETWORK_FAILURE, 'network-failure', true],
    [PcpResult.NO_RESOURCES, 'no-resources', true],
    [PcpResult.UNSUPP_PROTOCOL, 'unsupported', false],
    [PcpResult.USER_EX_QUOTA, 'no-resources', true],
    [PcpResult.CANNOT_PROVIDE_EXTERNAL, 'port-unavailable', false],
    [PcpResult.ADDRESS_MISMATCH, 'address-mismatch', false],
    [PcpResult.EXCESSIVE_REMOTE_PEERS, 'no-resources', true],
  ])('result %i is the refusal %s (transient: %s)', (code, reason, transient) => {
    const decoded = decodePcpResponse(response(code.toString(16).padStart(2, '0'), '0000001e'))!;
    let thrown: unknown;
    try { judgePcpResponse(decoded, 'tcp'); } catch (error) { thrown = error; }
    expect(thrown).toBeInstanceOf(GatewayRefusal);
    expect(thrown).toMatchObject({ reason, resultCode: code, via: 'pcp', retryAfterSeconds: 30, transient });
  });

  it('UNSUPP_VERSION means "fall back", not a refusal', () => {
    const decoded = decodePcpResponse(hex('01 81 00 01  00000000 00000000'))!;
    expect(() => judgePcpResponse(decoded, 'tcp')).toThrow(UnsupportedVersion);
  });

  it('a NAT-PMP-only gateway answers version 0 "unsupported version" (RFC 6886 section 3.5): fall back', () => {
    const decoded = decodePcpResponse(hex('00 81 0001 00000123'))!;
    expect(answersRequest(decoded, makeRequest())).toBe(true);
    expect(() => judgePcpResponse(decoded, 'tcp')).toThrow(UnsupportedVersion);
  });

  it('an error without the opcode body still answers (section 7.2)', () => {
    const decoded = decodePcpResponse(hex(`02 81 00 02  00000000  0000002a  000000000000000000000000`))!;
    expect(answersRequest(decoded, makeRequest())).toBe(true);
    expect(() => judgePcpResponse(decoded, 'tcp')).toThrow(GatewayRefusal);
  });

  it.each([
    ['another nonce', response('00', '00000e10', `ffffffffffffffffffffffff 06 000000 1f90 1f91 ${V4('0b120001')}`)],
    ['another protocol', response('00', '00000e10', `0102030405060708090a0b0c 11 000000 1f90 1f91 ${V4('0b120001')}`)],
    ['another internal port', response('00', '00000e10', `0102030405060708090a0b0c 06 000000 1f91 1f91 ${V4('0b120001')}`)],
  ])('does not take a response with %s as the answer (section 11.3)', (_name, datagram) => {
    expect(answersRequest(decodePcpResponse(datagram)!, makeRequest())).toBe(false);
  });

  it.each([
    ['a request (R bit clear)', hex(MAP_REQUEST)],
    ['a short datagram', hex('02 81')],
    ['an ANNOUNCE response', hex('02 80 00 00  00000000 0000002a 000000000000000000000000')],
  ])('ignores %s', (_name, datagram) => {
    expect(decodePcpResponse(datagram)).toBeUndefined();
  });
});
