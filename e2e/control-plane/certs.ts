/**
 * Certificates for a throw-away control plane on loopback: a CA, the API server's serving
 * certificate, an admin client certificate (group system:masters) and the service-account
 * signing key. Made with the openssl CLI because Node's crypto cannot issue certificates.
 */
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface Certificates {
  caCert: string;
  caKey: string;
  serverCert: string;
  serverKey: string;
  adminCert: string;
  adminKey: string;
  serviceAccountKey: string;
  serviceAccountPub: string;
}

function openssl(args: string[], cwd: string): void {
  execFileSync('openssl', args, { cwd, stdio: ['ignore', 'ignore', 'pipe'] });
}

function issue(dir: string, name: string, subject: string, extensions: string): void {
  writeFileSync(join(dir, `${name}.ext`), extensions);
  openssl(['req', '-new', '-newkey', 'rsa:2048', '-nodes', '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', subject], dir);
  openssl(['x509', '-req', '-in', `${name}.csr`, '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial', '-out', `${name}.crt`,
    '-days', '2', '-sha256', '-extfile', `${name}.ext`], dir);
}

/** `serverAddresses`: extra IP addresses the API server's certificate covers (a test node's forwarder). */
export function generateCertificates(dir: string, serverAddresses: readonly string[] = []): Certificates {
  openssl(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'ca.key', '-out', 'ca.crt', '-days', '2',
    '-subj', '/CN=natplan-test-ca', '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign'], dir);
  issue(dir, 'apiserver', '/CN=kube-apiserver',
    'basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\n' +
    `subjectAltName=IP:127.0.0.1,IP:10.96.0.1,${serverAddresses.map((a) => `IP:${a},`).join('')}DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc\n`);
  issue(dir, 'admin', '/O=system:masters/CN=natplan-admin',
    'basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=clientAuth\n');
  openssl(['genrsa', '-out', 'sa.key', '2048'], dir);
  openssl(['rsa', '-in', 'sa.key', '-pubout', '-out', 'sa.pub'], dir);
  const at = (f: string) => join(dir, f);
  return {
    caCert: at('ca.crt'), caKey: at('ca.key'), serverCert: at('apiserver.crt'), serverKey: at('apiserver.key'),
    adminCert: at('admin.crt'), adminKey: at('admin.key'), serviceAccountKey: at('sa.key'), serviceAccountPub: at('sa.pub'),
  };
}

/** A client certificate for another identity (e.g. the node agent's RBAC tests). */
export function issueClientCertificate(dir: string, name: string, commonName: string, groups: string[]): { cert: string; key: string } {
  const subject = [...groups.map((g) => `/O=${g}`), `/CN=${commonName}`].join('');
  issue(dir, name, subject, 'basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=clientAuth\n');
  return { cert: join(dir, `${name}.crt`), key: join(dir, `${name}.key`) };
}
