/**
 * The shared table of API examples: every file in crds/examples/ must be accepted, and
 * every invalid case rejected — by the ajv validators (validator.test.ts) and by the real
 * API server (api/api.int.test.ts), so the two are checked to agree on the same input.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';

export const examplesDir = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'crds', 'examples');

export type ApiObject = { apiVersion: string; kind: string; metadata: { name: string; namespace?: string }; spec: Record<string, unknown>; status?: unknown };

export function loadExample(file: string): ApiObject {
  return parse(readFileSync(join(examplesDir, file), 'utf8')) as ApiObject;
}

export function exampleFiles(): string[] {
  return readdirSync(examplesDir).filter((f) => f.endsWith('.yaml')).sort();
}

export interface InvalidCase {
  name: string;
  object: ApiObject;
  /** The field the error is reported on, as the API server names it ('' = the object). */
  field: string;
  /** A text the API server's error contains. */
  serverSays: string;
}

/** A copy of an example with `mutate` applied; status is dropped (created objects have none). */
function broken(file: string, mutate: (o: ApiObject & { spec: any }) => void): ApiObject { // eslint-disable-line @typescript-eslint/no-explicit-any
  const obj = loadExample(file);
  delete obj.status;
  obj.metadata.name = `invalid-${obj.metadata.name.replace(/\./g, '-')}`;
  if (obj.kind === 'NodeNatPlan') obj.spec.nodeName = obj.metadata.name;
  mutate(obj as ApiObject & { spec: any }); // eslint-disable-line @typescript-eslint/no-explicit-any
  return obj;
}

/** A copy of an example with `mutate` applied, named `edge-<suffix>`. */
function edge(file: string, suffix: string, mutate: (o: ApiObject & { spec: any }) => void): ApiObject { // eslint-disable-line @typescript-eslint/no-explicit-any
  const obj = broken(file, mutate);
  obj.metadata.name = `edge-${suffix}`;
  return obj;
}

const SNP = 'servicenatplan-web.yaml';
const NNP = 'nodenatplan-node-a.yaml';
const NEP = 'natexposurepolicy-web-public.yaml';
const NEG = 'natexposuregrant-edge-web.yaml';

/**
 * Edge cases that are valid: where natplan's own parsers (netaddr, the RFC 3339 pattern)
 * claim to read exactly what the API server accepts.
 */
export const validEdgeCases: { name: string; object: ApiObject }[] = [
  { name: 'plan: IPv6 address with an embedded dotted quad (not IPv4-mapped)', object: edge(SNP, 'embedded-v4', (o) => { o.spec.externalIPs = ['64:ff9b::192.0.2.1']; }) },
  { name: 'plan: CIDR with host bits set', object: edge(SNP, 'host-bits', (o) => { o.spec.loadBalancerSourceRanges = ['203.0.113.7/24']; }) },
  { name: 'plan: trigger time with a lowercase t and z (RFC 3339 allows them)', object: edge(SNP, 'lowercase-time', (o) => { o.spec.triggerTime = '2026-11-22t10:00:00z'; }) },
];

export const invalidCases: InvalidCase[] = [
  { name: 'plan: cluster IP that is no IP', object: broken(SNP, (o) => { o.spec.clusterIPs[0] = '10.96.0.300'; }), field: 'spec.clusterIPs[0]', serverSays: 'must be a valid IP address' },
  { name: 'plan: IPv4 with a leading zero', object: broken(SNP, (o) => { o.spec.externalIPs[0] = '192.0.2.010'; }), field: 'spec.externalIPs[0]', serverSays: 'must be a valid IP address' },
  { name: 'plan: port out of range', object: broken(SNP, (o) => { o.spec.ports[0].port = 70000; }), field: 'spec.ports[0].port', serverSays: 'less than or equal to 65535' },
  { name: 'plan: unknown protocol', object: broken(SNP, (o) => { o.spec.ports[0].protocol = 'HTTP'; }), field: 'spec.ports[0].protocol', serverSays: 'Unsupported value: "HTTP"' },
  { name: 'plan: the same port twice', object: broken(SNP, (o) => { o.spec.ports[1] = { ...o.spec.ports[0], name: 'again' }; }), field: 'spec.ports[1]', serverSays: 'Duplicate value' },
  { name: 'plan: a later part with frontends', object: broken(SNP, (o) => { o.spec.part = 1; }), field: 'spec', serverSays: 'only part 0 carries ports and frontends' },
  { name: 'plan: ClientIP affinity without timeout', object: broken(SNP, (o) => { delete o.spec.sessionAffinity.timeoutSeconds; }), field: 'spec.sessionAffinity', serverSays: 'timeoutSeconds is required with ClientIP affinity' },
  { name: 'plan: endpointCount that lies', object: broken(SNP, (o) => { o.spec.endpointCount = 5; }), field: 'spec', serverSays: 'endpointCount must equal the number of endpoints' },
  { name: 'plan: endpoint address with an IPv6 zone', object: broken(SNP, (o) => { o.spec.endpoints[0].address = 'fe80::1%eth0'; }), field: 'spec.endpoints[0].address', serverSays: 'must be a valid IP address' },
  { name: 'plan: source range that is no CIDR', object: broken(SNP, (o) => { o.spec.loadBalancerSourceRanges = ['203.0.113.0']; }), field: 'spec.loadBalancerSourceRanges[0]', serverSays: 'must be a valid CIDR' },
  { name: 'plan: unknown field', object: broken(SNP, (o) => { o.spec.bogus = true; }), field: 'spec.bogus', serverSays: 'unknown field "spec.bogus"' },
  { name: 'plan: missing service', object: broken(SNP, (o) => { delete o.spec.service; }), field: 'spec.service', serverSays: 'Required value' },
  { name: 'node plan: nodeName differs from the object name', object: broken(NNP, (o) => { o.spec.nodeName = 'node-z'; }), field: '', serverSays: 'spec.nodeName must equal metadata.name' },
  { name: 'node plan: pod CIDR with /33', object: broken(NNP, (o) => { o.spec.podCIDRs[0] = '10.244.1.0/33'; }), field: 'spec.podCIDRs[0]', serverSays: 'must be a valid CIDR' },
  { name: 'node plan: interface mode without its name', object: broken(NNP, (o) => { o.spec.localTraffic = { mode: 'BridgeInterface' }; }), field: 'spec.localTraffic', serverSays: 'interfaceName is required with mode BridgeInterface' },
  { name: 'node plan: cidrs with an interface mode', object: broken(NNP, (o) => { o.spec.localTraffic = { mode: 'InterfaceNamePrefix', interfaceNamePrefix: 'veth', cidrs: ['10.244.0.0/16'] }; }), field: 'spec.localTraffic', serverSays: 'cidrs only with mode ClusterCIDR or NodeCIDR' },
  { name: 'node plan: an interface prefix with a wildcard', object: broken(NNP, (o) => { o.spec.localTraffic = { mode: 'InterfaceNamePrefix', interfaceNamePrefix: 'veth*' }; }), field: 'spec.localTraffic.interfaceNamePrefix', serverSays: 'should match' },
  { name: 'node plan: exposure port 0', object: broken(NNP, (o) => { o.spec.exposures[0].port = 0; }), field: 'spec.exposures[0].port', serverSays: 'greater than or equal to 1' },
  { name: 'node plan: unknown source NAT mode', object: broken(NNP, (o) => { o.spec.exposures[0].sourceNAT = 'SNAT'; }), field: 'spec.exposures[0].sourceNAT', serverSays: 'Unsupported value: "SNAT"' },
  { name: 'node plan: unknown backend', object: broken(NNP, (o) => { o.spec.backend = 'ipvs'; }), field: 'spec.backend', serverSays: 'Unsupported value: "ipvs"' },
  { name: 'policy: both service name and selector', object: broken(NEP, (o) => { o.spec.service.selector = { matchLabels: { app: 'web' } }; }), field: 'spec.service', serverSays: 'exactly one of name or selector must be set' },
  { name: 'policy: neither service name nor selector', object: broken(NEP, (o) => { o.spec.service = {}; }), field: 'spec.service', serverSays: 'exactly one of name or selector must be set' },
  { name: 'policy: explicit ips and fromNode', object: broken(NEP, (o) => { o.spec.addresses.ips = ['198.51.100.1']; }), field: 'spec.addresses', serverSays: 'exactly one of ips or fromNode must be set' },
  { name: 'policy: fromNode Annotation without annotation', object: broken(NEP, (o) => { delete o.spec.addresses.annotation; }), field: 'spec.addresses', serverSays: 'annotation is required with fromNode Annotation' },
  { name: 'policy: annotation with fromNode ExternalIP', object: broken(NEP, (o) => { o.spec.addresses.fromNode = 'ExternalIP'; }), field: 'spec.addresses', serverSays: 'annotation is required with fromNode Annotation and not allowed otherwise' },
  { name: 'policy: In without values', object: broken(NEP, (o) => { o.spec.nodes.selector = { matchExpressions: [{ key: 'zone', operator: 'In' }] }; }), field: 'spec.nodes.selector.matchExpressions[0]', serverSays: 'values must be non-empty for In and NotIn' },
  { name: 'policy: Exists with values', object: broken(NEP, (o) => { o.spec.nodes.selector = { matchExpressions: [{ key: 'zone', operator: 'Exists', values: ['a'] }] }; }), field: 'spec.nodes.selector.matchExpressions[0]', serverSays: 'values must be non-empty for In and NotIn, and empty for Exists' },
  { name: 'policy: external port out of range', object: broken(NEP, (o) => { o.spec.ports[0].externalPort = 65536; }), field: 'spec.ports[0].externalPort', serverSays: 'less than or equal to 65535' },
  { name: 'policy: no ports', object: broken(NEP, (o) => { o.spec.ports = []; }), field: 'spec.ports', serverSays: 'should have at least 1 items' },
  { name: 'policy: missing addresses', object: broken(NEP, (o) => { delete o.spec.addresses; }), field: 'spec.addresses', serverSays: 'Required value' },
  { name: 'policy: explicit IP that is no IP', object: broken(NEP, (o) => { o.spec.addresses = { ips: ['public'] }; }), field: 'spec.addresses.ips[0]', serverSays: 'must be a valid IP address' },
  { name: 'policy: IPv4-mapped IPv6 address', object: broken(NEP, (o) => { o.spec.addresses = { ips: ['::ffff:192.0.2.1'] }; }), field: 'spec.addresses.ips[0]', serverSays: 'must be a valid IP address' },
  { name: 'policy: allow-list entry that is no CIDR', object: broken(NEP, (o) => { o.spec.sourceRanges = ['everyone']; }), field: 'spec.sourceRanges[0]', serverSays: 'must be a valid CIDR' },
  { name: 'policy: unknown field in a port', object: broken(NEP, (o) => { o.spec.ports[0].targetPort = 8080; }), field: 'spec.ports[0].targetPort', serverSays: 'unknown field "spec.ports[0].targetPort"' },
  { name: 'policy: SCTP through a gateway', object: broken(NEP, (o) => { o.spec.addresses = { fromNode: 'Gateway' }; o.spec.ports[0].protocol = 'SCTP'; }), field: 'spec', serverSays: 'a gateway maps TCP and UDP ports only' },
  { name: 'policy: unknown source NAT mode', object: broken(NEP, (o) => { o.spec.sourceNAT = 'Both'; }), field: 'spec.sourceNAT', serverSays: 'Unsupported value: "Both"' },
  { name: 'grant: no namespaces named or selected', object: broken(NEG, (o) => { o.spec.namespaces = {}; }), field: 'spec.namespaces', serverSays: 'names or selector must be set' },
  { name: 'grant: no addresses', object: broken(NEG, (o) => { o.spec.addresses = {}; }), field: 'spec.addresses', serverSays: 'at least one of cidrs, fromNode or annotations must be set' },
  { name: 'grant: a CIDR that is no CIDR', object: broken(NEG, (o) => { o.spec.addresses.cidrs = ['198.51.100.0/33']; }), field: 'spec.addresses.cidrs[0]', serverSays: 'must be a valid IP address or CIDR' },
  { name: 'grant: a port range that runs backwards', object: broken(NEG, (o) => { o.spec.ports[0].to = 80; }), field: 'spec.ports[0]', serverSays: 'to must not be below from' },
  { name: 'grant: port 0', object: broken(NEG, (o) => { o.spec.ports[0].from = 0; }), field: 'spec.ports[0].from', serverSays: 'greater than or equal to 1' },
  { name: 'grant: unknown node address type', object: broken(NEG, (o) => { o.spec.addresses.fromNode = ['Hostname']; }), field: 'spec.addresses.fromNode[0]', serverSays: 'Unsupported value: "Hostname"' },
  { name: 'grant: no ports', object: broken(NEG, (o) => { o.spec.ports = []; }), field: 'spec.ports', serverSays: 'should have at least 1 items' },
];
