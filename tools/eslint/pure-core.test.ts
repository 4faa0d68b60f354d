import { Linter, RuleTester } from 'eslint';
import tseslint from 'typescript-eslint';
import { describe, expect, it } from 'vitest';
import { pureCoreConfig, pureCorePlugin } from './pure-core.js';

// RuleTester makes one vitest test per case.
RuleTester.describe = describe;
RuleTester.it = it;
RuleTester.itOnly = it.only;

const tester = new RuleTester({ languageOptions: { parser: tseslint.parser, ecmaVersion: 2022, sourceType: 'module' } });

tester.run('pure-core/no-module-state', pureCorePlugin.rules['no-module-state'], {
  valid: [
    'const LIMIT = 3;',
    'export const PORTS = Object.freeze([22, 6443]);',
    'const STATIC: ReadonlySet<string> = new Set(["a"]);',
    'export const BY_NAME: ReadonlyMap<string, number> = new Map([["a", 1]]);',
    'const TABLE = new Map([["a", 1]]) as ReadonlyMap<string, number>;',
    // Inside a function the state lives for one call.
    'export function f() { let n = 0; const seen = new Set(); seen.add(n++); return seen; }',
    'export class Store { private readonly items = new Map<string, number>(); }',
  ],
  invalid: [
    { code: 'let counter = 0;', errors: [{ messageId: 'binding', data: { kind: 'let' } }] },
    { code: 'var counter = 0;', errors: [{ messageId: 'binding', data: { kind: 'var' } }] },
    { code: 'export let current: string | undefined;', errors: [{ messageId: 'binding' }] },
    { code: 'const cache = new Map<string, number>();', errors: [{ messageId: 'container', data: { container: 'Map', readonly: 'ReadonlyMap' } }] },
    { code: 'export const seen = new Set();', errors: [{ messageId: 'container', data: { container: 'Set', readonly: 'ReadonlySet' } }] },
    { code: 'const memo = new WeakMap<object, string>();', errors: [{ messageId: 'container', data: { container: 'WeakMap', readonly: 'ReadonlyMap' } }] },
    { code: 'const held = new WeakSet<object>();', errors: [{ messageId: 'container', data: { container: 'WeakSet', readonly: 'ReadonlySet' } }] },
    // A mutable type annotation does not make it a constant table.
    { code: 'const m: Map<string, number> = new Map();', errors: [{ messageId: 'container' }] },
  ],
});

tester.run('pure-core/no-impure-imports', pureCorePlugin.rules['no-impure-imports'], {
  valid: [
    "import { join } from 'node:path';",
    "import type { Hash } from 'node:crypto';",
    "import { type Hash } from 'node:crypto';",
    "import type { Exec } from '../exec/index.js';",
    "export type { Exec } from '../exec/index.js';",
    "import { renderNftables } from './nft-render.js';",
  ],
  invalid: [
    ...['node:perf_hooks', 'perf_hooks', 'node:crypto', 'crypto', 'node:timers', 'timers', 'node:timers/promises', 'timers/promises', 'node:fs', 'node:child_process', '@kubernetes/client-node']
      .map((name) => ({ code: `import * as m from '${name}';`, errors: [{ messageId: 'impure', data: { name } }] })),
    { code: "import { createHash, type Hash } from 'node:crypto';", errors: [{ messageId: 'impure' }] },
    { code: "export { performance } from 'node:perf_hooks';", errors: [{ messageId: 'impure' }] },
    { code: "export * from 'node:timers';", errors: [{ messageId: 'impure' }] },
    { code: "const fs = await import('node:fs');", errors: [{ messageId: 'impure' }] },
    { code: "import { nftApply } from '../exec/index.js';", errors: [{ messageId: 'shell' }] },
    { code: "import { run } from '../../shell/sync-loop.js';", errors: [{ messageId: 'shell' }] },
  ],
});

describe('pureCoreConfig', () => {
  const linter = new Linter({ configType: 'flat' });
  const lint = (code: string): string[] => linter
    .verify(code, [{ files: ['**/*.ts'], languageOptions: { parser: tseslint.parser } }, { ...pureCoreConfig, files: ['**/*.ts'] }], 'core.ts')
    .map((m) => `${m.ruleId}@${m.line}`);

  it('reports the clock, timers and randomness, one line each', () => {
    const code = [
      'export const a = Date.now();',
      'export const b = new Date();',
      'export const c = Date();',
      'export const d = performance.now();',
      'setTimeout(() => undefined, 1);',
      'setInterval(() => undefined, 1);',
      'setImmediate(() => undefined);',
      'queueMicrotask(() => undefined);',
      'export const e = Math.random();',
      'export const f = crypto.randomUUID();',
      'export const g = process.env.HOME;',
    ].join('\n');
    expect(lint(code)).toEqual([
      'no-restricted-properties@1', 'no-restricted-syntax@2', 'no-restricted-syntax@3', 'no-restricted-globals@4',
      'no-restricted-globals@5', 'no-restricted-globals@6', 'no-restricted-globals@7', 'no-restricted-globals@8',
      'no-restricted-properties@9', 'no-restricted-globals@10', 'no-restricted-globals@11',
    ]);
  });

  it('lets time given as an argument through', () => {
    expect(lint('export const at = (ms: number): string => new Date(ms).toISOString();\nexport const t = Date.UTC(2026, 0, 1);')).toEqual([]);
  });
});
