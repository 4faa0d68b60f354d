import { describe, expect, it } from 'vitest';
import { PortMappingClient } from './client.js';
import { NATPMP_RETRANSMIT, PCP_RETRANSMIT } from './exchange.js';
import { FakeClock, FakeGateway } from './fakes.js';
import { PCP_VERSION, PcpResult } from './pcp.js';
import { GatewayRefusal, GatewayTimeout } from './types.js';
import type { MappingRequest } from './types.js';

const REQUEST: MappingRequest = { protocol: 'tcp', internalPort: 8080, suggestedExternalPort: 8080, lifetimeSeconds: 120 };
const EXTERNAL = [11, 18, 0, 1];

/** A PCP server's answer to a MAP request: echoes nonce/protocol/ports, grants `lifetime`. */
function pcpAnswer(request: Uint8Array, result: number = PcpResult.SUCCESS, lifetime = 60, epoch = 7): Uint8Array {
  const answer = new Uint8Array(60);
  const view = new DataView(answer.buffer);
  answer[0] = PCP_VERSION;
  answer[1] = 0x81;
  answer[3] = result;
  view.setUint32(4, result === PcpResult.SUCCESS ? lifetime : 0);
  view.setUint32(8, epoch);
  answer.set(request.subarray(24, 44), 24); // nonce, protocol, reserved, internal and suggested port
  answer.set([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, ...EXTERNAL], 44);
  return answer;
}

/** A NAT-PMP-only server: "unsupported version" to PCP, answers to version 0. */
function natPmpServer(request: Uint8Array, result = 0): Uint8Array[] {
  if (request[0] !== 0) return [Uint8Array.of(0, request[1]! | 0x80, 0, 1, 0, 0, 0, 9)];
  if (request[1] === 0) return [Uint8Array.of(0, 0x80, 0, result, 0, 0, 0, 9, ...EXTERNAL)];
  const answer = new Uint8Array(16);
  const view = new DataView(answer.buffer);
  answer[1] = request[1]! | 0x80;
  view.setUint16(2, result);
  view.setUint32(4, 9);
  answer.set(request.subarray(4, 8), 8);
  answer.set(request.subarray(8, 12), 12);
  return [answer];
}

function setup(protocols?: ('pcp' | 'nat-pmp')[]) {
  const clock = new FakeClock();
  const gateway = new FakeGateway();
  let nonces = 0;
  const client = new PortMappingClient({
    datagrams: gateway, clock, randomNonce: () => new Uint8Array(12).fill(++nonces), ...(protocols ? { protocols } : {}),
  });
  return { clock, gateway, client };
}

describe('PortMappingClient', () => {
  it('maps over PCP with our own address in the header and learns the external address', async () => {
    const { gateway, client } = setup();
    gateway.answer = (request) => [pcpAnswer(request)];
    const mapping = await client.map(REQUEST);
    expect(mapping).toEqual({ via: 'pcp', protocol: 'tcp', internalPort: 8080, externalPort: 8080, externalAddress: '11.18.0.1', lifetimeSeconds: 60, epochSeconds: 7 });
    expect(Array.from(gateway.sent[0]!.subarray(20, 24))).toEqual([172, 18, 0, 2]);
    expect(client.protocol).toBe('pcp');
  });

  it('renews and deletes with the same nonce (RFC 6887 section 11.2.1), then forgets it', async () => {
    const { gateway, client } = setup();
    gateway.answer = (request) => [pcpAnswer(request)];
    await client.map(REQUEST);
    await client.map(REQUEST);
    await client.unmap(REQUEST);
    await client.map(REQUEST);
    const nonces = gateway.sent.map((m) => m[24]);
    expect(nonces).toEqual([1, 1, 1, 2]);
    expect(new DataView(gateway.sent[2]!.buffer).getUint32(4)).toBe(0);
  });

  it('retransmits with doubling waits and gives up after the bounded attempts', async () => {
    const { clock, gateway, client } = setup(['pcp']);
    const result = client.map(REQUEST).catch((error: unknown) => error);
    await clock.advance(PCP_RETRANSMIT.initialMs - 1);
    expect(gateway.sent).toHaveLength(1);
    await clock.advance(1);
    expect(gateway.sent).toHaveLength(2);
    await clock.advance(2 * PCP_RETRANSMIT.initialMs);
    expect(gateway.sent).toHaveLength(3);
    await clock.advance(4 * PCP_RETRANSMIT.initialMs);
    const error = await result;
    expect(error).toBeInstanceOf(GatewayTimeout);
    expect(error).toMatchObject({ via: 'pcp', attempts: PCP_RETRANSMIT.maxAttempts, elapsedMs: 7 * PCP_RETRANSMIT.initialMs });
    expect(clock.pending()).toBe(0);
  });

  it('takes the answer to a retransmission when the first request was lost', async () => {
    const { clock, gateway, client } = setup();
    gateway.answer = (request) => (gateway.sent.length === 1 ? [] : [pcpAnswer(request)]);
    const result = client.map(REQUEST);
    await clock.advance(PCP_RETRANSMIT.initialMs);
    await expect(result).resolves.toMatchObject({ via: 'pcp', externalPort: 8080 });
    expect(gateway.sent).toHaveLength(2);
    expect(clock.pending()).toBe(0);
  });

  it('ignores answers to other requests (another nonce) and keeps waiting', async () => {
    const { clock, gateway, client } = setup();
    gateway.answer = (request) => {
      const stranger = pcpAnswer(request);
      stranger.fill(0xee, 24, 36);
      return [stranger, pcpAnswer(request, PcpResult.SUCCESS, 90)];
    };
    await expect(client.map(REQUEST)).resolves.toMatchObject({ lifetimeSeconds: 90 });
    expect(clock.pending()).toBe(0);
  });

  it('falls back to NAT-PMP when the gateway answers PCP with "unsupported version" (RFC 6887 section 9), and stays there', async () => {
    const { gateway, client } = setup();
    gateway.answer = (request) => natPmpServer(request);
    const mapping = await client.map(REQUEST);
    expect(mapping).toEqual({ via: 'nat-pmp', protocol: 'tcp', internalPort: 8080, externalPort: 8080, externalAddress: '11.18.0.1', lifetimeSeconds: 120, epochSeconds: 9 });
    expect(gateway.sent.map((m) => [m[0], m[1]])).toEqual([[2, 1], [0, 2], [0, 0]]);
    await client.unmap(REQUEST);
    expect(Array.from(gateway.sent.at(-1)!)).toEqual([0, 2, 0, 0, 0x1f, 0x90, 0, 0, 0, 0, 0, 0]);
    expect(client.protocol).toBe('nat-pmp');
  });

  it('falls back to NAT-PMP when PCP gets no answer at all', async () => {
    const { clock, gateway, client } = setup();
    gateway.answer = (request) => (request[0] === PCP_VERSION ? [] : natPmpServer(request));
    const result = client.map(REQUEST);
    await clock.advance(7 * PCP_RETRANSMIT.initialMs);
    await expect(result).resolves.toMatchObject({ via: 'nat-pmp', externalAddress: '11.18.0.1' });
  });

  it('reports a timeout when neither protocol answers', async () => {
    const { clock, client } = setup();
    const result = client.map(REQUEST).catch((error: unknown) => error);
    await clock.advance(7 * PCP_RETRANSMIT.initialMs + 31 * NATPMP_RETRANSMIT.initialMs);
    expect(await result).toMatchObject({ name: 'GatewayTimeout', via: 'nat-pmp' });
  });

  it('a refusal is an answer: no fallback to NAT-PMP', async () => {
    const { gateway, client } = setup();
    gateway.answer = (request) => [pcpAnswer(request, PcpResult.NOT_AUTHORIZED)];
    await expect(client.map(REQUEST)).rejects.toMatchObject({ reason: 'not-authorized', via: 'pcp' });
    expect(gateway.sent).toHaveLength(1);
  });

  it('NAT-PMP refusals are typed too', async () => {
    const { gateway, client } = setup(['nat-pmp']);
    gateway.answer = (request) => natPmpServer(request, 2);
    await expect(client.map(REQUEST)).rejects.toMatchObject({ name: 'GatewayRefusal', reason: 'not-authorized', via: 'nat-pmp', resultCode: 2 });
  });

  it('does not send a third-party request over NAT-PMP, which cannot express it', async () => {
    const { gateway, client } = setup(['nat-pmp']);
    gateway.answer = (request) => natPmpServer(request);
    const error = await client.map(REQUEST, { thirdPartyAddress: '172.18.0.3' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(GatewayRefusal);
    expect(error).toMatchObject({ reason: 'unsupported' });
    expect(gateway.sent).toHaveLength(0);
  });

  it('refuses a lifetime of 0 on map (delete is unmap)', async () => {
    const { client } = setup();
    await expect(client.map({ ...REQUEST, lifetimeSeconds: 0 })).rejects.toThrow(/unmap/);
  });
});
