/**
 * HTTP for UPnP IGD through the exec boundary: each request is a short `node` process
 * (fetch), so it runs in the node's network, like every other command the agent runs (in
 * tests and the sandbox, `ip netns exec` into the node's namespace; in production the
 * agent's own host network). UPnP is the last fallback and asks once per half lifetime,
 * so a process per request costs nothing that matters.
 */
import type { Exec } from '../exec/index.js';
import type { Http } from './upnp.js';

const FETCH = `
const [url, action, body] = process.argv.slice(-3);
const init = action ? { method: 'POST', headers: { 'Content-Type': 'text/xml; charset="utf-8"', SOAPAction: '"' + action + '"' }, body } : {};
const response = await fetch(url, { ...init, signal: AbortSignal.timeout(5000) });
process.stdout.write(JSON.stringify({ status: response.status, body: await response.text() }));
`;

export function execHttp(exec: Exec): Http {
  return async (url, request) => {
    const { stdout } = await exec.run([process.execPath, '--input-type=module', '-e', FETCH, url, request?.soapAction ?? '', request?.body ?? ''], { timeoutMs: 10_000 });
    return JSON.parse(stdout) as { status: number; body: string };
  };
}
