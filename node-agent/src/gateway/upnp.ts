/**
 * UPnP IGD (the Internet Gateway Device's WANIPConnection service), the third way to ask a
 * gateway for a port mapping, tried when neither PCP nor NAT-PMP answers: an SSDP M-SEARCH
 * sent to the gateway itself (unicast, UDA 1.1; the agent knows its gateway, so nothing is
 * multicast), the device description named by LOCATION, then SOAP AddPortMapping,
 * DeletePortMapping and GetExternalIPAddress on its control URL. Transports are injected
 * (Datagrams for SSDP, `http` for description and SOAP), so the codec and the flow are
 * unit-tested on fakes; netns-socket.ts and upnp-http.ts supply the real ones.
 */
import type { MappingExtras, PortMapper } from './client.js';
import type { Clock, Datagrams } from './exchange.js';
import { GatewayRefusal, GatewayTimeout } from './types.js';
import type { GrantedMapping, MappingRequest, TransportProtocol } from './types.js';

export const SSDP_PORT = 1900;
const WAN_SERVICES = ['urn:schemas-upnp-org:service:WANIPConnection:2', 'urn:schemas-upnp-org:service:WANIPConnection:1', 'urn:schemas-upnp-org:service:WANPPPConnection:1'];

export interface HttpResponse { readonly status: number; readonly body: string }
/** GET (no `soapAction`) or a SOAP POST; rejects when the gateway cannot be reached. */
export type Http = (url: string, request?: { soapAction: string; body: string }) => Promise<HttpResponse>;

export function encodeSearch(): Uint8Array {
  return new TextEncoder().encode([
    'M-SEARCH * HTTP/1.1', 'HOST: 239.255.255.250:1900', 'MAN: "ssdp:discover"', 'MX: 2',
    'ST: urn:schemas-upnp-org:device:InternetGatewayDevice:1', '', '',
  ].join('\r\n'));
}

/** LOCATION of an SSDP answer; undefined for anything else. */
export function locationOf(datagram: Uint8Array): string | undefined {
  const text = new TextDecoder().decode(datagram);
  if (!/^HTTP\/1\.[01] 200/i.test(text)) return undefined;
  return /^location:\s*(\S+)\s*$/im.exec(text)?.[1];
}

const unescapeXml = (text: string) => text.replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&quot;/g, '"').replace(/&apos;/g, "'").replace(/&amp;/g, '&');
const escapeXml = (text: string) => text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

function element(xml: string, name: string): string | undefined {
  const match = new RegExp(`<(?:[\\w-]+:)?${name}>([\\s\\S]*?)</(?:[\\w-]+:)?${name}>`).exec(xml);
  return match?.[1] === undefined ? undefined : unescapeXml(match[1].trim());
}

/** The WAN connection service of a device description: its type and absolute control URL. */
export function controlOf(description: string, location: string): { serviceType: string; controlURL: string } | undefined {
  const services = [...description.matchAll(/<service>([\s\S]*?)<\/service>/g)].map((m) => m[1] ?? '');
  for (const wanted of WAN_SERVICES) {
    const service = services.find((s) => element(s, 'serviceType') === wanted);
    const control = service && element(service, 'controlURL');
    if (control) return { serviceType: wanted, controlURL: new URL(control, element(description, 'URLBase') ?? location).toString() };
  }
  return undefined;
}

export function soapEnvelope(serviceType: string, action: string, args: readonly (readonly [string, string | number])[]): string {
  const body = args.map(([k, v]) => `<${k}>${escapeXml(String(v))}</${k}>`).join('');
  return `<?xml version="1.0"?>\r\n<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/" s:encodingStyle="http://schemas.xmlsoap.org/soap/encoding/"><s:Body><u:${action} xmlns:u="${serviceType}">${body}</u:${action}></s:Body></s:Envelope>\r\n`;
}

/**
 * UPnP errors (IGD WANIPConnection v2, section 2.4) as the refusals the rest knows:
 * 606 not authorised; 718 the external port is held by another mapping, 724 and 725 the
 * ports or lease the device will not do, 729 another mechanism (PCP) holds it.
 */
export function refusalOf(errorCode: number): GatewayRefusal['reason'] {
  if (errorCode === 606) return 'not-authorized';
  if (errorCode === 718 || errorCode === 729 || errorCode === 716) return 'port-unavailable';
  if (errorCode === 728) return 'no-resources';
  if (errorCode === 401 || errorCode === 602) return 'unsupported';
  return 'malformed';
}

export interface UpnpIgdOptions {
  readonly ssdp: Datagrams;
  readonly http: Http;
  readonly clock: Clock;
  /** The address the gateway forwards to: this node's, as the plan names it. */
  readonly internalClient: string;
  readonly searchTimeoutMs?: number;
}

export class UpnpIgdMapper implements PortMapper {
  private control: Promise<{ serviceType: string; controlURL: string }> | undefined;
  /** External port per mapping, for DeletePortMapping (keyed like the other clients). */
  private readonly externalPorts = new Map<string, number>();

  constructor(private readonly options: UpnpIgdOptions) {}

  async map(request: MappingRequest, _extras: MappingExtras = {}): Promise<GrantedMapping> {
    // AddPortMapping maps exactly the port asked (718 when taken), so PREFER_FAILURE holds as is.
    const externalPort = request.suggestedExternalPort || request.internalPort;
    await this.call('AddPortMapping', [
      ['NewRemoteHost', ''], ['NewExternalPort', externalPort], ['NewProtocol', request.protocol.toUpperCase()],
      ['NewInternalPort', request.internalPort], ['NewInternalClient', this.options.internalClient], ['NewEnabled', 1],
      ['NewPortMappingDescription', 'natplan'], ['NewLeaseDuration', request.lifetimeSeconds],
    ]);
    this.externalPorts.set(key(request.protocol, request.internalPort), externalPort);
    const answer = await this.call('GetExternalIPAddress', []);
    const externalAddress = element(answer, 'NewExternalIPAddress') ?? '';
    // IGD does not say what it granted; it keeps what it was asked (or refuses, 725).
    return { via: 'upnp-igd', protocol: request.protocol, internalPort: request.internalPort, externalPort, externalAddress, lifetimeSeconds: request.lifetimeSeconds, epochSeconds: 0 };
  }

  async unmap(request: { protocol: TransportProtocol; internalPort: number }): Promise<void> {
    const k = key(request.protocol, request.internalPort);
    // Another process's mapping: natplan asks for the external port it serves on the node.
    const externalPort = this.externalPorts.get(k) ?? request.internalPort;
    await this.call('DeletePortMapping', [['NewRemoteHost', ''], ['NewExternalPort', externalPort], ['NewProtocol', request.protocol.toUpperCase()]]);
    this.externalPorts.delete(k);
  }

  /** Closes the SSDP socket. */
  close(): void {
    this.options.ssdp.close();
  }

  private async call(action: string, args: readonly (readonly [string, string | number])[]): Promise<string> {
    const control = await this.discover();
    let response: HttpResponse;
    try {
      response = await this.options.http(control.controlURL, { soapAction: `${control.serviceType}#${action}`, body: soapEnvelope(control.serviceType, action, args) });
    } catch {
      this.control = undefined; // the device moved or restarted on another port: find it again
      throw new GatewayTimeout('upnp-igd', 1, 0);
    }
    if (response.status === 200) return response.body;
    const code = Number(element(response.body, 'errorCode'));
    if (!Number.isInteger(code)) throw new GatewayRefusal('malformed', 'upnp-igd', response.status);
    throw new GatewayRefusal(refusalOf(code), 'upnp-igd', code);
  }

  private discover(): Promise<{ serviceType: string; controlURL: string }> {
    this.control ??= this.search().catch((error: unknown) => {
      this.control = undefined;
      throw error;
    });
    return this.control;
  }

  private async search(): Promise<{ serviceType: string; controlURL: string }> {
    const { ssdp, clock, http } = this.options;
    const timeoutMs = this.options.searchTimeoutMs ?? 3000;
    const location = await new Promise<string>((resolve, reject) => {
      const cancel = clock.setTimer(timeoutMs, () => { unsubscribe(); reject(new GatewayTimeout('upnp-igd', 1, timeoutMs)); });
      const unsubscribe = ssdp.onMessage((datagram) => {
        const found = locationOf(datagram);
        if (found === undefined) return;
        cancel();
        unsubscribe();
        resolve(found);
      });
      ssdp.send(encodeSearch());
    });
    let description: HttpResponse;
    try {
      description = await http(location);
    } catch {
      throw new GatewayTimeout('upnp-igd', 1, 0);
    }
    const control = description.status === 200 ? controlOf(description.body, location) : undefined;
    if (!control) throw new GatewayRefusal('unsupported', 'upnp-igd', description.status);
    return control;
  }
}

const key = (protocol: TransportProtocol, internalPort: number) => `${protocol}/${internalPort}`;
