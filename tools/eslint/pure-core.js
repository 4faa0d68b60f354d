// @ts-check
/**
 * The lint rule for the pure core (STYLE.md: pure core, thin shell). A pure file computes
 * from its arguments only: no I/O, no clock, no timers, no randomness, no state that
 * outlives a call at module level. The shell reads the world and passes what it read in
 * (a `now`, a `random`, a hash function).
 *
 * Kept apart from eslint.config.js so that the package-boundary rules there and this list
 * change independently. Its own rules (`pure-core/*`) are local so that no other config
 * block that sets `no-restricted-imports` (package boundaries) replaces them: ESLint does
 * not merge one rule's options across config objects, the later one wins.
 */

/**
 * Folders and files holding pure functions over plain data (DESIGN.md §6). Their tests
 * count too: a test that needs a file or a process says so in an eslint-disable line.
 */
export const PURE_CORE_FILES = [
  'operator/src/planner/**/*.ts',
  'node-agent/src/render/**/*.ts',
  'api/generated/**/*.ts',
  // The validators the agent and the tests run over plans (ajv and CEL over plain objects).
  // Not listed: cases.ts, which reads the examples from disk (test support).
  'api/validation/{formats,kube-cel,validator,index}{,.test}.ts',
  'netaddr/**/*.ts',
  // The gateway protocols' codecs (the client, lease and sockets around them are the shell).
  'node-agent/src/gateway/{address,pcp,natpmp,types}{,.test}.ts',
  // The applier's text and port builders. Shell, not listed: the appliers that run exec
  // (iptables-applier, nft-applier, transactional-applier, which also reads the clock),
  // nft-kernel-check (its script builders sit beside readHandles/runCheck, which exec),
  // conntrack (exec and a timer), create and cleanup-all (exec), index (barrel).
  'node-agent/src/applier/{iptables-kernel-check,iptables-restore-text,render-ports,types}{,.test}.ts',
  // controller-kit's data-only parts. Shell, not listed: clock, http-server, process,
  // json-logger (stderr), build-info (process.version), metrics (prom-client's process
  // collectors), apply, owners, events, kube/{request,client,list-watch,lease-store,resources}
  // (API calls), controller, workqueue, informer, sources, leader-election, leader-terms,
  // kube/rate-limit (timers through the injected Clock), index (barrel), testing/ (test
  // support).
  'controller-kit/src/{backoff,conditions,errors,flags,hash,store}{,.test}.ts',
  'controller-kit/src/kube/{api-errors,microtime}{,.test}.ts',
  // The agent's sync decisions (what a sync takes, what its outcome means, when to retry)
  // and the applier's full-or-incremental choice, apart from the loops that carry them out.
  'node-agent/src/shell/sync-decision.ts',
  'node-agent/src/applier/full-sync{,.test}.ts',
];

/** Modules that reach outside the process or read the clock or randomness. */
export const IMPURE_MODULES = [
  'fs', 'fs/promises', 'child_process', 'net', 'http', 'https', 'http2', 'tls', 'dgram', 'dns', 'os',
  'worker_threads', 'cluster', 'readline', 'process',
  // time and randomness (node:crypto too: the one hash module, controller-kit's hash.ts, is pure)
  'perf_hooks', 'crypto', 'timers', 'timers/promises',
].flatMap((name) => [name, `node:${name}`]).concat([
  '@kubernetes/client-node',
  // controller-kit's barrel loads its API client (http, client-node's Watch) and prom-client;
  // its pure parts have their own exports (@natplan/controller-kit/hash, /backoff) or are
  // imported relatively inside it.
  '@natplan/controller-kit',
]);

/** Import paths of the shell, relative or not. */
const SHELL_PATH = /(^|\/)(shell|controllers|exec)(\/|$)/;

/** True when an import or export brings in values (not only types, which erase at compile time). */
function bringsValues(node) {
  if (node.importKind === 'type' || node.exportKind === 'type') return false;
  const specifiers = node.specifiers ?? [];
  if (node.type === 'ImportDeclaration' && specifiers.length > 0 &&
    specifiers.every((s) => s.type === 'ImportSpecifier' && s.importKind === 'type')) return false;
  if (node.type === 'ExportNamedDeclaration' && specifiers.length > 0 &&
    specifiers.every((s) => s.exportKind === 'type')) return false;
  return true;
}

/** @type {import('eslint').Rule.RuleModule} */
const noImpureImports = {
  meta: {
    type: 'problem',
    docs: { description: 'pure core: no imports of I/O, clock, timer, randomness or shell modules' },
    schema: [],
    messages: {
      impure: "pure core: '{{name}}' does I/O or reads time or randomness; pass what it gives in from the shell (STYLE.md, pure core / thin shell)",
      shell: "pure core may not import the shell ('{{name}}')",
    },
  },
  create(context) {
    function check(node, source) {
      if (!source || source.type !== 'Literal' || typeof source.value !== 'string') return;
      const name = source.value;
      if (IMPURE_MODULES.includes(name)) context.report({ node, messageId: 'impure', data: { name } });
      else if (SHELL_PATH.test(name)) context.report({ node, messageId: 'shell', data: { name } });
    }
    return {
      ImportDeclaration(node) { if (bringsValues(node)) check(node, node.source); },
      ExportNamedDeclaration(node) { if (node.source && bringsValues(node)) check(node, node.source); },
      ExportAllDeclaration(node) { if (bringsValues(node)) check(node, node.source); },
      ImportExpression(node) { check(node, node.source); },
    };
  },
};

/** Containers that are mutable whatever `const` says. */
const MUTABLE_CONTAINERS = new Set(['Map', 'Set', 'WeakMap', 'WeakSet']);
/** Type annotations under which TypeScript refuses mutation through the binding. */
const READONLY_TYPES = new Set(['ReadonlyMap', 'ReadonlySet']);

function typeName(annotation) {
  const type = annotation?.type === 'TSTypeAnnotation' ? annotation.typeAnnotation : annotation;
  return type?.type === 'TSTypeReference' && type.typeName.type === 'Identifier' ? type.typeName.name : undefined;
}

/** @type {import('eslint').Rule.RuleModule} */
const noModuleState = {
  meta: {
    type: 'problem',
    docs: { description: 'pure core: no mutable state at module level (let, var, new Map/Set/WeakMap/WeakSet)' },
    schema: [],
    messages: {
      binding: "pure core: module-level '{{kind}}' is state shared by every caller; keep state in the shell or in an instance",
      container: "pure core: module-level 'new {{container}}' is mutable state shared by every caller; type it {{readonly}} if it is a constant table, else keep it in the shell or an instance",
    },
  },
  create(context) {
    function checkDeclaration(declaration) {
      if (declaration?.type !== 'VariableDeclaration') return;
      if (declaration.kind === 'let' || declaration.kind === 'var') {
        context.report({ node: declaration, messageId: 'binding', data: { kind: declaration.kind } });
        return;
      }
      for (const declarator of declaration.declarations) {
        let init = declarator.init;
        let annotated = typeName(declarator.id.typeAnnotation);
        while (init && (init.type === 'TSAsExpression' || init.type === 'TSSatisfiesExpression')) {
          annotated = typeName(init.typeAnnotation) ?? annotated;
          init = init.expression;
        }
        if (init?.type !== 'NewExpression' || init.callee.type !== 'Identifier') continue;
        const container = init.callee.name;
        if (!MUTABLE_CONTAINERS.has(container)) continue;
        const readonly = `Readonly${container.replace('Weak', '')}`;
        if (annotated && READONLY_TYPES.has(annotated)) continue;
        context.report({ node: declarator, messageId: 'container', data: { container, readonly } });
      }
    }
    return {
      Program(program) {
        for (const statement of program.body) {
          if (statement.type === 'VariableDeclaration') checkDeclaration(statement);
          else if (statement.type === 'ExportNamedDeclaration') checkDeclaration(statement.declaration);
        }
      },
    };
  },
};

/** The local plugin (flat config). */
export const pureCorePlugin = {
  meta: { name: 'natplan-pure-core' },
  rules: { 'no-impure-imports': noImpureImports, 'no-module-state': noModuleState },
};

const TIME = 'pure core: take the time as an argument';
const SCHEDULING = 'pure core: no timers; the shell schedules';

/** The flat-config block for eslint.config.js. */
export const pureCoreConfig = {
  files: PURE_CORE_FILES,
  plugins: { 'pure-core': pureCorePlugin },
  rules: {
    'pure-core/no-impure-imports': 'error',
    'pure-core/no-module-state': 'error',
    'no-restricted-globals': ['error',
      { name: 'process', message: 'pure core: pass configuration in, do not read the environment' },
      { name: 'fetch', message: 'pure core: no I/O' },
      { name: 'crypto', message: 'pure core: no randomness; the shell passes a hash or random source in' },
      { name: 'performance', message: TIME },
      ...['setTimeout', 'setInterval', 'setImmediate', 'clearTimeout', 'clearInterval', 'clearImmediate', 'queueMicrotask']
        .map((name) => ({ name, message: SCHEDULING })),
    ],
    'no-restricted-properties': ['error',
      { object: 'Date', property: 'now', message: TIME },
      { object: 'Math', property: 'random', message: 'pure core: deterministic output only; take a random source as an argument' },
      { object: 'globalThis', property: 'setTimeout', message: SCHEDULING },
      { object: 'globalThis', property: 'performance', message: TIME },
      { object: 'globalThis', property: 'crypto', message: 'pure core: no randomness' },
      { object: 'globalThis', property: 'process', message: 'pure core: pass configuration in' },
    ],
    'no-restricted-syntax': ['error',
      { selector: "NewExpression[callee.name='Date'][arguments.length=0]", message: `${TIME} (new Date() reads the clock)` },
      { selector: "CallExpression[callee.name='Date']", message: `${TIME} (Date() reads the clock)` },
    ],
  },
};
