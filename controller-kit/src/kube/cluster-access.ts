/**
 * How to reach the API server: its URL, the CA to trust, and the credentials (a client
 * certificate or a bearer token). The agent and the operator need only this much of a
 * client-node KubeConfig, and loading KubeConfig costs about 45 MB of RSS in every
 * process (its module loads every generated API model), more than the agent's whole
 * ruleset at 1k Services. So kubeconfig files and the in-cluster service account that use
 * only certificates and tokens are read here; anything else (exec or auth-provider
 * plugins, basic auth, proxies) is left to client-node's KubeConfig, loaded on demand.
 *
 * A real KubeConfig satisfies ClusterAccess too (tests pass one).
 */
import { readFileSync } from 'node:fs';
import type * as https from 'node:https';
import { isIPv6 } from 'node:net';
import { dirname, resolve } from 'node:path';
import type { KubeConfig } from '@kubernetes/client-node';
import { parse } from 'yaml';

/**
 * How long the API client waits (as client-go's rest.Config Timeout): a request whose
 * answer has not begun, or has gone silent, after `requestMs` fails, and so does a watch
 * whose headers have not come. 30 s unless given; the fault tests shorten it.
 */
export interface ApiTimeouts {
  requestMs?: number;
}

/** The part of client-node's KubeConfig natplan's shells use, and optionally the API client's timeouts. */
export type ClusterAccess = Pick<KubeConfig, 'getCurrentCluster' | 'applyToHTTPSOptions'> & { readonly apiTimeouts?: ApiTimeouts };

export const SERVICE_ACCOUNT_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';

/** Where the certificates and the token come from: inline data, or a file read on use. */
export interface AccessSource {
  server: string;
  /** PEM text, or a file holding it. None: the system's CAs (insecure only if skipTLSVerify). */
  ca?: { data: string } | { file: string };
  skipTLSVerify?: boolean;
  tlsServerName?: string;
  clientCert?: { data: string } | { file: string };
  clientKey?: { data: string } | { file: string };
  /** A bearer token, or a file re-read on use (bound service account tokens rotate). */
  token?: { data: string } | { file: string };
}

const read = (source: { data: string } | { file: string } | undefined): string | undefined =>
  source === undefined ? undefined : 'data' in source ? source.data : readFileSync(source.file, 'utf8');

/** A ClusterAccess over plain credentials; the token file is read again on every request. */
export class PlainClusterAccess implements ClusterAccess {
  constructor(private readonly source: AccessSource, readonly apiTimeouts?: ApiTimeouts) {}

  getCurrentCluster(): ReturnType<KubeConfig['getCurrentCluster']> {
    const { server, skipTLSVerify, tlsServerName } = this.source;
    return { name: 'natplan', server, skipTLSVerify: skipTLSVerify ?? false, ...(tlsServerName ? { tlsServerName } : {}) };
  }

  async applyToHTTPSOptions(opts: https.RequestOptions): Promise<void> {
    const ca = read(this.source.ca);
    const cert = read(this.source.clientCert);
    const key = read(this.source.clientKey);
    const token = read(this.source.token)?.trim();
    if (ca !== undefined) opts.ca = ca;
    if (cert !== undefined) opts.cert = cert;
    if (key !== undefined) opts.key = key;
    if (this.source.skipTLSVerify) opts.rejectUnauthorized = false;
    if (this.source.tlsServerName) opts.servername = this.source.tlsServerName;
    if (token) opts.headers = { ...opts.headers as Record<string, string>, Authorization: `Bearer ${token}` };
    // No agent here: ApiConnection (connection.ts) keeps its own keep-alive pool keyed by
    // this TLS material, so an agent built per request would only be thrown away.
  }
}

/** The in-cluster service account's access (client-go's rest.InClusterConfig); http on the plain ports, as client-node. */
export function inClusterSource(host: string, port: string, dir = SERVICE_ACCOUNT_DIR): AccessSource {
  const scheme = port === '80' || port === '8080' || port === '8001' ? 'http' : 'https';
  return { server: `${scheme}://${isIPv6(host) ? `[${host}]` : host}:${port}`, ca: { file: `${dir}/ca.crt` }, token: { file: `${dir}/token` } };
}

/** What a kubeconfig's current context says, when it needs nothing but certificates and tokens. */
export type KubeconfigReading = { ok: true; source: AccessSource } | { ok: false; reason: string };

type Named<T> = { name?: string } & T;
interface KubeconfigFile {
  'current-context'?: string;
  contexts?: Named<{ context?: { cluster?: string; user?: string } }>[];
  clusters?: Named<{ cluster?: Record<string, unknown> }>[];
  users?: Named<{ user?: Record<string, unknown> }>[];
}

/** Fields the plain reader understands; any other field of the user or cluster sends the file to client-node. */
const USER_FIELDS = new Set(['client-certificate', 'client-certificate-data', 'client-key', 'client-key-data', 'token', 'tokenFile']);
const CLUSTER_FIELDS = new Set(['server', 'certificate-authority', 'certificate-authority-data', 'insecure-skip-tls-verify', 'tls-server-name', 'extensions']);

/**
 * Reads a kubeconfig's current context. Relative file paths are relative to the
 * kubeconfig's folder, as kubectl reads them.
 */
export function readKubeconfig(text: string, path: string): KubeconfigReading {
  const file = (parse(text) ?? {}) as KubeconfigFile;
  const contextName = file['current-context'];
  const context = file.contexts?.find((c) => c.name === contextName)?.context;
  if (!context) return { ok: false, reason: `no current context ${JSON.stringify(contextName ?? '')}` };
  const cluster = file.clusters?.find((c) => c.name === context.cluster)?.cluster;
  if (!cluster || typeof cluster.server !== 'string') return { ok: false, reason: `no cluster ${JSON.stringify(context.cluster ?? '')} with a server` };
  const user = (context.user === undefined ? {} : file.users?.find((u) => u.name === context.user)?.user) ?? {};
  const unknown = [...Object.keys(user).filter((k) => !USER_FIELDS.has(k)), ...Object.keys(cluster).filter((k) => !CLUSTER_FIELDS.has(k))];
  if (unknown.length) return { ok: false, reason: `uses ${unknown.join(', ')}` };
  const dir = dirname(path);
  const from = (data: unknown, fileName: unknown, base64: boolean): { data: string } | { file: string } | undefined =>
    typeof data === 'string' ? { data: base64 ? Buffer.from(data, 'base64').toString('utf8') : data }
      : typeof fileName === 'string' ? { file: resolve(dir, fileName) } : undefined;
  const source: AccessSource = { server: cluster.server };
  const ca = from(cluster['certificate-authority-data'], cluster['certificate-authority'], true);
  const clientCert = from(user['client-certificate-data'], user['client-certificate'], true);
  const clientKey = from(user['client-key-data'], user['client-key'], true);
  const token = from(user.token, user.tokenFile, false);
  if (ca) source.ca = ca;
  if (clientCert) source.clientCert = clientCert;
  if (clientKey) source.clientKey = clientKey;
  if (token) source.token = token;
  if (cluster['insecure-skip-tls-verify'] === true) source.skipTLSVerify = true;
  if (typeof cluster['tls-server-name'] === 'string') source.tlsServerName = cluster['tls-server-name'];
  return { ok: true, source };
}
