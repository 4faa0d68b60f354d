// What one plan write costs the real API server (issue 13: what bounds the operator's
// first plan). N ServiceNatPlans of 10 endpoints each are written by 16 concurrent
// writers, in four ways, and the API server's CPU time per object is printed:
//   server-side apply (what the operator does), a plain JSON create, a server-side apply
//   that changes nothing, and a ConfigMap holding the same JSON as one string (the same
//   bytes without a custom resource's field-by-field handling).
// A script, not a test; it asserts nothing:
//   npx tsx bench/apiserver-write-cost.ts [N, default 1000] [--smoke]
// Addresses follow the project's test ranges (cluster IPs 10.96.0.0/16, pods 10.244.0.0/16).
import { readFileSync } from 'node:fs';
import { call, kubeRequester, type Requester } from '@natplan/controller-kit';
import { startControlPlane } from '@natplan/e2e/control-plane';

const smoke = process.argv.includes('--smoke');
const count = smoke ? 50 : Number(process.argv.slice(2).find((a) => !a.startsWith('--')) ?? 1000);
const WRITERS = 16;
const NAMESPACE = 'write-cost';
const PLANS = `/apis/natplan.io/v1alpha1/namespaces/${NAMESPACE}/servicenatplans`;

function plan(name: string, i: number) {
  const endpoints = Array.from({ length: 10 }, (_, e) => {
    const n = i * 10 + e;
    return { address: `10.244.${(n >> 8) & 255}.${n & 255}`, nodeName: `node-${e}`, zone: 'zone-1', ready: true, serving: true, terminating: false, ports: [{ name: 'http', port: 8080 }], forCluster: true, forLocal: true };
  });
  return {
    apiVersion: 'natplan.io/v1alpha1', kind: 'ServiceNatPlan', metadata: { namespace: NAMESPACE, name },
    spec: {
      service: { name }, part: 0, ipFamilies: ['IPv4'], clusterIPs: [`10.96.${(i >> 8) & 255}.${i & 255}`],
      ports: [{ name: 'http', protocol: 'TCP', port: 80 }], sessionAffinity: { type: 'None' },
      externalTrafficPolicy: 'Cluster', internalTrafficPolicy: 'Cluster', endpointCount: endpoints.length, endpoints,
    },
  };
}

function cpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100; // utime + stime, 100 Hz ticks
}

async function timed(label: string, pid: number, write: (i: number) => Promise<unknown>): Promise<void> {
  const cpu0 = cpuSeconds(pid);
  const t0 = performance.now();
  let next = 0;
  await Promise.all(Array.from({ length: WRITERS }, async () => { while (next < count) await write(next++); }));
  const perObject = (s: number) => ((s * 1000) / count).toFixed(2);
  console.log(`${label.padEnd(34)} API server CPU ${perObject(cpuSeconds(pid) - cpu0)} ms/object, wall ${perObject((performance.now() - t0) / 1000)} ms/object`);
}

const apply = (r: Requester, name: string, i: number) => call(r, {
  method: 'PATCH', path: `${PLANS}/${name}`, query: { fieldManager: 'natplan-operator', force: true },
  contentType: 'application/apply-patch+yaml', body: JSON.stringify(plan(name, i)),
});

const cp = await startControlPlane();
try {
  const r = kubeRequester(cp.kubeConfig);
  const pid = cp.processes.find((p) => p.name === 'kube-apiserver')!.pid;
  await call(r, { method: 'POST', path: '/api/v1/namespaces', body: JSON.stringify({ metadata: { name: NAMESPACE } }) });
  console.log(`${count} objects, ${WRITERS} concurrent writers, ServiceNatPlans of 10 endpoints (${JSON.stringify(plan('p-0', 0)).length} bytes)`);
  await timed('server-side apply (create)', pid, (i) => apply(r, `a-${i}`, i));
  await timed('JSON create (POST)', pid, (i) => call(r, { method: 'POST', path: PLANS, query: { fieldManager: 'natplan-operator' }, body: JSON.stringify(plan(`b-${i}`, i)) }));
  await timed('server-side apply, unchanged', pid, (i) => apply(r, `a-${i}`, i));
  await timed('ConfigMap with the same JSON', pid, (i) => call(r, {
    method: 'POST', path: `/api/v1/namespaces/${NAMESPACE}/configmaps`, body: JSON.stringify({ metadata: { name: `c-${i}` }, data: { plan: JSON.stringify(plan(`c-${i}`, i)) } }),
  }));
} finally {
  await cp.stop();
}
