// A CPU profile of the real kube-apiserver while a benchmark runs, to show what bounds a
// figure the API server dominates (issue 13: "what bounds it, with a profile"). The
// profile comes from the server's own /debug/pprof (on by default), read with kubectl's
// raw GET so the binary body is saved untouched; `go tool pprof` summarises it.
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { promisify } from 'node:util';
import { binaryPath } from '@natplan/e2e/control-plane';

const run = promisify(execFile);
const GO = '/usr/local/go/bin/go';

/** Where the API server's CPU went, by the stage of request handling that a frame stands for. */
const STAGES: readonly [string, RegExp][] = [
  ['apply-patch YAML decoding', /^sigs\.k8s\.io\/yaml\.unmarshal$/],
  ['JSON decoding into unstructured', /^k8s\.io\/apimachinery\/pkg\/runtime\/serializer\/versioning\.\(\*codec\)\.Decode$/],
  ['schema validation (OpenAPI + CEL)', /^k8s\.io\/apiextensions-apiserver\/pkg\/registry\/customresource\.customResourceStrategy\.Validate$/],
  ['schema coercion, pruning, defaulting', /^k8s\.io\/apiextensions-apiserver\/pkg\/apiserver\.\(\*unstructuredSchemaCoercer\)\.apply$/],
  ['managed fields (server-side apply)', /^k8s\.io\/apimachinery\/pkg\/util\/managedfields\/internal\.\(\*FieldManager\)\.(Apply|Update)$/],
  ['watch fan-out (decode from etcd)', /^k8s\.io\/apiserver\/pkg\/storage\/etcd3\.\(\*watchChan\)\.transform$/],
  ['response encoding', /^encoding\/json\.\(\*encodeState\)\.marshal$/],
  ['garbage collection (background + assists)', /^runtime\.(gcBgMarkWorker|gcAssistAlloc)$/],
];

export interface ApiServerProfile {
  /** Resolves to the summary lines once the profile window has ended. */
  finished: Promise<string[]>;
}

/** Starts a `seconds`-long CPU profile of the API server behind `kubeconfig`, saved to `file`. */
export function profileApiServer(kubeconfig: string, seconds: number, file: string): ApiServerProfile {
  const kubectl = binaryPath('kubectl');
  const finished = run('bash', ['-c', `"$0" --kubeconfig "$1" get --raw "/debug/pprof/profile?seconds=$2" > "$3"`, kubectl, kubeconfig, String(seconds), file], { timeout: (seconds + 60) * 1000 })
    .then(() => summarise(file));
  return { finished };
}

async function summarise(file: string): Promise<string[]> {
  if (!existsSync(GO)) return [`profile saved to ${file} (no Go toolchain at ${GO} to summarise it)`];
  const { stdout } = await run(GO, ['tool', 'pprof', '-top', '-cum', '-nodecount=400', file], { maxBuffer: 16 * 2 ** 20 });
  const total = /Total samples = ([\d.]+)s/.exec(stdout)?.[1];
  const lines = stdout.split('\n');
  const out = [`API server CPU profile ${file}: ${total ?? '?'} s of samples (read it: ${GO} tool pprof -top -cum ${file})`];
  for (const [stage, frame] of STAGES) {
    // Columns: flat flat% sum% cum cum% name.
    const row = lines.map((l) => l.trim().split(/\s+/)).find((cols) => cols.length >= 6 && frame.test(cols.slice(5).join(' ')));
    out.push(`  ${stage.padEnd(42)} ${row ? `${row[4]} of samples (${row[3]})` : 'not sampled'}`);
  }
  return out;
}
