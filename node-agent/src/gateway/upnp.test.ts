import { describe, expect, it } from 'vitest';
import type { PortMapper } from './client.js';
import { FallbackMapper } from './fallback.js';
import { FakeClock, FakeGateway } from './fakes.js';
import { GatewayRefusal, GatewayTimeout } from './types.js';
import type { GrantedMapping, MappingRequest } from './types.js';
import { controlOf, locationOf, soapEnvelope, UpnpIgdMapper, type Http } from './upnp.js';

// A gateway at 172.18.0.254 (its IGD description on port 5000), the node at 172.18.0.3,
// the external address 11.18.0.1, as in the e2e tests.
const LOCATION = 'http://172.18.0.254:5000/rootDesc.xml';
const DESCRIPTION = `<?xml version="1.0"?><root><device><deviceList><device><serviceList>
<service><serviceType>urn:schemas-upnp-org:service:WANCommonInterfaceConfig:1</serviceType><controlURL>/ctl/CmnIfCfg</controlURL></service>
<service><serviceType>urn:schemas-upnp-org:service:WANIPConnection:1</serviceType><controlURL>/ctl/IPConn</controlURL></service>
</serviceList></device></deviceList></device></root>`;
const ssdpAnswer = (location = LOCATION) => new TextEncoder().encode(`HTTP/1.1 200 OK\r\nCACHE-CONTROL: max-age=120\r\nST: urn:schemas-upnp-org:device:InternetGatewayDevice:1\r\nLOCATION: ${location}\r\n\r\n`);
const fault = (code: number) => ({ status: 500, body: `<s:Envelope><s:Body><s:Fault><detail><UPnPError><errorCode>${code}</errorCode><errorDescription>x</errorDescription></UPnPError></detail></s:Fault></s:Body></s:Envelope>` });

function setup(answer: (action: string, body: string) => { status: number; body: string }) {
  const clock = new FakeClock();
  const ssdp = new FakeGateway('172.18.0.3');
  ssdp.answer = () => [ssdpAnswer()];
  const calls: string[] = [];
  const http: Http = async (url, request) => {
    if (!request) {
      calls.push(`GET ${url}`);
      return { status: 200, body: DESCRIPTION };
    }
    const action = request.soapAction.split('#')[1] ?? '';
    calls.push(`POST ${url} ${action}`);
    return answer(action, request.body);
  };
  const mapper = new UpnpIgdMapper({ ssdp, http, clock, internalClient: '172.18.0.3' });
  return { clock, ssdp, calls, mapper };
}
const REQUEST: MappingRequest = { protocol: 'tcp', internalPort: 8080, suggestedExternalPort: 8080, lifetimeSeconds: 3600 };

describe('UPnP IGD codec', () => {
  it('reads LOCATION from an SSDP answer, and only from an answer', () => {
    expect(locationOf(ssdpAnswer())).toBe(LOCATION);
    expect(locationOf(new TextEncoder().encode('NOTIFY * HTTP/1.1\r\nLOCATION: http://x/\r\n\r\n'))).toBeUndefined();
  });

  it('finds the WAN connection service and resolves its control URL against the description', () => {
    expect(controlOf(DESCRIPTION, LOCATION)).toEqual({ serviceType: 'urn:schemas-upnp-org:service:WANIPConnection:1', controlURL: 'http://172.18.0.254:5000/ctl/IPConn' });
    expect(controlOf('<root><service><serviceType>urn:other</serviceType><controlURL>/x</controlURL></service></root>', LOCATION)).toBeUndefined();
  });

  it('escapes argument values: a description cannot change the envelope', () => {
    expect(soapEnvelope('urn:s', 'AddPortMapping', [['NewPortMappingDescription', '</x><y>']])).toContain('<NewPortMappingDescription>&lt;/x&gt;&lt;y&gt;</NewPortMappingDescription>');
  });
});

describe('UpnpIgdMapper', () => {
  it('discovers once, maps exactly the port asked for to this node, and reads the external address', async () => {
    const { calls, mapper } = setup((action) => ({ status: 200, body: action === 'GetExternalIPAddress' ? '<NewExternalIPAddress>11.18.0.1</NewExternalIPAddress>' : '' }));
    const granted = await mapper.map(REQUEST);
    expect(granted).toMatchObject({ via: 'upnp-igd', externalAddress: '11.18.0.1', externalPort: 8080, lifetimeSeconds: 3600 });
    await mapper.map(REQUEST);
    expect(calls).toEqual([`GET ${LOCATION}`, ...Array(2).fill(['POST http://172.18.0.254:5000/ctl/IPConn AddPortMapping', 'POST http://172.18.0.254:5000/ctl/IPConn GetExternalIPAddress']).flat()]);
  });

  it('sends the node address, the ports and the lease in AddPortMapping, and deletes the same external port', async () => {
    const bodies: string[] = [];
    const { mapper } = setup((action, body) => { bodies.push(body); return { status: 200, body: action === 'GetExternalIPAddress' ? '<NewExternalIPAddress>11.18.0.1</NewExternalIPAddress>' : '' }; });
    await mapper.map({ ...REQUEST, suggestedExternalPort: 9000 });
    await mapper.unmap({ protocol: 'tcp', internalPort: 8080 });
    expect(bodies[0]).toMatch(/<NewExternalPort>9000<\/NewExternalPort><NewProtocol>TCP<\/NewProtocol><NewInternalPort>8080<\/NewInternalPort><NewInternalClient>172\.18\.0\.3<\/NewInternalClient>.*<NewLeaseDuration>3600<\/NewLeaseDuration>/);
    expect(bodies[2]).toContain('<NewExternalPort>9000</NewExternalPort><NewProtocol>TCP</NewProtocol>');
  });

  it.each([
    [718, 'port-unavailable'], [729, 'port-unavailable'], [606, 'not-authorized'], [728, 'no-resources'], [725, 'malformed'],
  ] as const)('UPnP error %i is a %s refusal', async (code, reason) => {
    const { mapper } = setup(() => fault(code));
    await expect(mapper.map(REQUEST)).rejects.toMatchObject({ name: 'GatewayRefusal', reason, via: 'upnp-igd', resultCode: code });
  });

  it('no SSDP answer is a timeout (no gateway), and the next call searches again', async () => {
    const { clock, ssdp, mapper } = setup(() => ({ status: 200, body: '' }));
    ssdp.answer = () => [];
    const result = mapper.map(REQUEST).catch((e: unknown) => e);
    await clock.advance(3000);
    expect(await result).toBeInstanceOf(GatewayTimeout);
    ssdp.answer = () => [ssdpAnswer()];
    await expect(mapper.map(REQUEST)).resolves.toMatchObject({ via: 'upnp-igd' });
    expect(ssdp.sent.length).toBe(2);
  });
});

describe('FallbackMapper: PCP/NAT-PMP first, UPnP when they do not answer', () => {
  const granted = (via: GrantedMapping['via']): GrantedMapping => ({ via, protocol: 'tcp', internalPort: 8080, externalPort: 8080, externalAddress: '11.18.0.1', lifetimeSeconds: 60, epochSeconds: 0 });
  const mapper = (result: () => GrantedMapping, calls: string[], name: string): PortMapper => ({
    map: async () => { calls.push(name); return result(); },
    unmap: async () => { calls.push(`${name} unmap`); },
  });

  it('a timeout moves on and the answering mapper is kept; a refusal is an answer', async () => {
    const calls: string[] = [];
    const silent = mapper(() => { throw new GatewayTimeout('nat-pmp', 5, 7750); }, calls, 'pcp');
    const fallback = new FallbackMapper([silent, mapper(() => granted('upnp-igd'), calls, 'upnp')]);
    await expect(fallback.map(REQUEST)).resolves.toMatchObject({ via: 'upnp-igd' });
    await fallback.map(REQUEST);
    await fallback.unmap({ protocol: 'tcp', internalPort: 8080 });
    expect(calls).toEqual(['pcp', 'upnp', 'upnp', 'upnp unmap']);

    const refusing = new FallbackMapper([mapper(() => { throw new GatewayRefusal('port-unavailable', 'pcp', 11); }, calls, 'pcp'), mapper(() => granted('upnp-igd'), calls, 'upnp')]);
    await expect(refusing.map(REQUEST)).rejects.toBeInstanceOf(GatewayRefusal);
  });
});
