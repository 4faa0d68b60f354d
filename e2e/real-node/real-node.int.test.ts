/**
 * natplan deployed with its Helm chart on a real Kubernetes node: kubelet + containerd in
 * a network namespace (node.ts), the image built by tools/image/build.sh, no kube-proxy.
 * The operator and agent pods really run, the agent programs the node's nftables, a pod
 * reaches a Service's ClusterIP through those rules with real traffic; `helm upgrade`
 * rolls a changed value out; `helm uninstall` leaves no natplan rule on the node (the
 * post-delete hooks run `natplan cleanup`). Durations of each phase are printed.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { crdsDir, helm, kubectl, startControllerManager, startControlPlane, waitFor, type ControlPlane } from '../control-plane/index.js';
import { NODE_API_PORT, NODE_IP, startRealNode, startScheduler, type RealNode } from './node.js';

const repo = join(crdsDir, '..');
const chart = join(repo, 'charts', 'natplan');
const NS = 'natplan-system';
const TINY = 'localhost/natplan-e2e/tiny:1';
const timings: [string, number][] = [];
let mark = performance.now();
const phase = (name: string) => { const now = performance.now(); timings.push([name, Math.round(now - mark)]); mark = now; };
const testStart = performance.now();

let cp: ControlPlane | undefined;
let node: RealNode | undefined;
const hostNetnsBefore = new Set(readdirSync('/run/netns'));

const run = (cmd: string, args: string[]) => execFileSync(cmd, args, { cwd: repo, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] }).trim();

async function k(args: string[], input?: string): Promise<string> {
  const r = await kubectl((cp as ControlPlane).kubeconfigPath, args, input);
  if (r.code !== 0) throw new Error(`kubectl ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

async function h(args: string[]): Promise<string> {
  const r = await helm((cp as ControlPlane).kubeconfigPath, args);
  if (r.code !== 0) throw new Error(`helm ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

interface PodJson { metadata: { name: string; uid: string; namespace: string }; spec: { containers: { args?: string[] }[] }; status: { phase: string; podIP?: string; conditions?: { type: string; status: string }[] } }
const ready = (p: PodJson) => p.status.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false;
async function pods(namespace: string, selector: string): Promise<PodJson[]> {
  return (JSON.parse(await k(['get', 'pods', '-n', namespace, '-l', selector, '-o', 'json'])) as { items: PodJson[] }).items;
}

/** The container's log as the kubelet wrote it (`kubectl logs` cannot reach this kubelet). */
function containerLog(pod: PodJson, container: string): string {
  const dir = join((node as RealNode).podLogsDir, `${pod.metadata.namespace}_${pod.metadata.name}_${pod.metadata.uid}`, container);
  if (!existsSync(dir)) return '';
  return readdirSync(dir).map((f) => readFileSync(join(dir, f), 'utf8')).join('');
}

/** The node's natplan rules: nft tables and iptables chains named natplan/NATPLAN. */
function natplanRules(): string {
  const n = node as RealNode;
  const tables = n.run(['nft', 'list', 'tables']).split('\n').filter((l) => l.includes('natplan'));
  const chains = ['iptables-save', 'ip6tables-save'].flatMap((c) => n.run([c]).split('\n').filter((l) => l.includes('NATPLAN')));
  return [...tables, ...chains].join('\n');
}

/** Runs the client Job against `url` and returns its output; throws with it when the Job fails. */
async function clientJob(name: string, url: string): Promise<string> {
  await k(['apply', '-f', '-'], JSON.stringify({
    apiVersion: 'batch/v1', kind: 'Job', metadata: { name, namespace: 'default' },
    spec: { backoffLimit: 0, template: { spec: { restartPolicy: 'Never', containers: [{ name: 'get', image: TINY, imagePullPolicy: 'Never', args: ['get', url] }] } } },
  }));
  const pod = await waitFor(`Job ${name} finished`, async () => {
    const [p] = await pods('default', `job-name=${name}`);
    return p && (p.status.phase === 'Succeeded' || p.status.phase === 'Failed') ? p : undefined;
  }, 60_000, 200);
  const log = containerLog(pod, 'get');
  if (pod.status.phase !== 'Succeeded') throw new Error(`client ${name} failed: ${log}`);
  return log;
}

beforeAll(async () => {
  const natplanImage = run('bash', ['tools/image/build.sh']);
  const tinyImage = run('bash', ['e2e/real-node/tiny-image.sh', TINY]);
  phase('images built');
  // The chart installs the CRDs (crds.enabled), as in a cluster.
  cp = await startControlPlane({ installCrds: false, serverAddresses: [NODE_IP] });
  await startControllerManager(cp, { controllers: ['*'] });
  await startScheduler(cp);
  phase('control plane up');
  node = await startRealNode(cp, { images: [natplanImage, tinyImage], sandboxImage: TINY });
  phase('node Ready');
}, 600_000);

afterAll(async () => {
  try {
    mark = performance.now();
    await node?.stop();
    phase('node teardown');
    await cp?.stop();
    phase('control plane teardown');
  } finally {
    timings.push(['total', Math.round(performance.now() - testStart)]);
    console.log(`real-node phases (ms):\n${timings.map(([n, ms]) => `  ${n.padEnd(28)} ${ms}`).join('\n')}`);
  }
  // The node's pod network namespaces lived in its mount namespace: none reached the host.
  expect(readdirSync('/run/netns').filter((n) => n.startsWith('cni-') && !hostNetnsBefore.has(n))).toEqual([]);
}, 120_000);

describe('natplan on a real node', () => {
  let clusterIP = '';

  it('helm install: the operator and the agent run, and a pod reaches a Service through the agent\'s rules', async () => {
    mark = performance.now();
    await h(['install', 'natplan', chart, '-n', NS, '--create-namespace',
      '--set', 'image.pullPolicy=Never', '--set', 'operator.replicas=1',
      '--set', `k8sServiceHost=${NODE_IP}`, '--set', `k8sServicePort=${NODE_API_PORT}`,
      '--set', 'operator.clusterCIDRs={10.244.0.0/16}', '--set', 'operator.serviceCIDRs={10.96.0.0/16}']);
    phase('helm install returned');
    await waitFor('the agent Ready', async () => ((await pods(NS, 'app.kubernetes.io/component=agent')).some(ready) ? true : undefined), 120_000, 250);
    phase('agent Ready');
    await waitFor('the operator Ready', async () => ((await pods(NS, 'app.kubernetes.io/component=operator')).some(ready) ? true : undefined), 120_000, 250);
    phase('operator Ready');

    await k(['apply', '-f', '-'], JSON.stringify({
      apiVersion: 'v1', kind: 'List', items: [
        { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'web', namespace: 'default' },
          spec: { replicas: 1, selector: { matchLabels: { app: 'web' } }, template: { metadata: { labels: { app: 'web' } },
            spec: { containers: [{ name: 'web', image: TINY, imagePullPolicy: 'Never', args: ['serve', ':8080'],
              readinessProbe: { httpGet: { path: '/', port: 8080 }, periodSeconds: 1 } }] } } } },
        { apiVersion: 'v1', kind: 'Service', metadata: { name: 'web', namespace: 'default' },
          spec: { selector: { app: 'web' }, ports: [{ port: 80, targetPort: 8080 }] } },
      ],
    }));
    clusterIP = await k(['get', 'service', 'web', '-n', 'default', '-o', 'jsonpath={.spec.clusterIP}']);
    const [web] = await waitFor('the web pod Ready', async () => { const p = await pods('default', 'app=web'); return p.some(ready) ? p : undefined; }, 60_000, 250);
    phase('backend Ready');
    // The ClusterIP with its endpoint: before the EndpointSlice reaches the plan, the
    // Service is there too, rejecting (no endpoints), as kube-proxy does.
    const podIP = web?.status.podIP ?? 'no pod IP';
    await waitFor(`${clusterIP} -> ${podIP} in the node's nftables`, async () => {
      const rules = (node as RealNode).run(['nft', 'list', 'ruleset']);
      const has = (ip: string) => new RegExp(`(^|[^\\d.])${ip.replaceAll('.', '\\.')}($|[^\\d.])`, 'm').test(rules);
      return has(clusterIP) && has(podIP) ? true : undefined;
    }, 30_000, 100);
    phase('Service in the node\'s rules');
    const answer = await clientJob('client', `http://${clusterIP}/`);
    phase('Service reached from a pod');
    // The backend answers with its hostname: the request crossed the ClusterIP's DNAT to it.
    expect(answer).toContain(`200 ${web?.metadata.name}`);
  });

  it('helm upgrade: a changed value reaches the running agent', async () => {
    mark = performance.now();
    await h(['upgrade', 'natplan', chart, '-n', NS, '--reuse-values', '--set', 'agent.logLevel=debug']);
    const agent = await waitFor('an agent with --log-level=debug Ready', async () => {
      const p = (await pods(NS, 'app.kubernetes.io/component=agent')).find((a) => ready(a) && a.spec.containers[0]?.args?.includes('--log-level=debug'));
      return p;
    }, 120_000, 250);
    // The new level is in force: the agent logs its syncs at debug.
    await waitFor('a debug line in the agent\'s log', async () => (containerLog(agent, 'agent').includes('"level":"debug"') ? true : undefined), 30_000, 200);
    phase('upgrade rolled out');
    expect(await clientJob('client-after-upgrade', `http://${clusterIP}/`)).toContain('200 web-');
  });

  it('helm uninstall: no natplan rule is left on the node', async () => {
    expect(natplanRules()).not.toBe('');
    mark = performance.now();
    await h(['uninstall', 'natplan', '-n', NS, '--wait', '--timeout', '110s']);
    phase('helm uninstall (with hooks)');
    expect(natplanRules()).toBe('');
  }, 150_000);
});
