// @ts-check
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import { packageBoundaries } from './tools/eslint/package-boundaries.js';

/** Modules that reach outside the process: the pure cores may not import them. */
const IO_MODULES = [
  'fs', 'node:fs', 'fs/promises', 'node:fs/promises', 'child_process', 'node:child_process',
  'net', 'node:net', 'http', 'node:http', 'https', 'node:https', 'dgram', 'node:dgram',
  'dns', 'node:dns', 'os', 'node:os', 'worker_threads', 'node:worker_threads',
  '@kubernetes/client-node',
];

/** Folders holding pure functions over plain data (DESIGN.md §6, STYLE.md "pure core"). */
const PURE_CORES = [
  'operator/src/planner/**/*.ts', 'node-agent/src/render/**/*.ts', 'crds/generated/**/*.ts', 'netaddr/**/*.ts',
  // The gateway protocols' codecs (the client, lease and sockets around them are the shell).
  'node-agent/src/gateway/{address,pcp,natpmp,types}.ts',
];

export default tseslint.config(
  { ignores: ['**/node_modules/**', '**/dist/**', 'coverage/**', 'charts/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts'],
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': 'error',
      'no-console': 'off',
    },
  },
  {
    // Workspace packages meet only through their package.json `exports` (README, "Layout").
    files: ['**/*.{ts,js,mjs}'],
    plugins: { natplan: { rules: { 'package-boundaries': packageBoundaries } } },
    rules: { 'natplan/package-boundaries': 'error' },
  },
  {
    files: PURE_CORES,
    rules: {
      'no-restricted-imports': ['error', {
        // Type-only imports erase at compile time, so the planner may name client-node's types.
        paths: IO_MODULES.map((name) => ({ name, allowTypeImports: true, message: 'pure core: no I/O imports (STYLE.md, pure core / thin shell)' })),
        patterns: [{ group: ['**/shell/**', '**/controllers/**', '**/exec/**'], message: 'pure core may not import the shell' }],
      }],
      'no-restricted-globals': ['error',
        { name: 'process', message: 'pure core: pass configuration in, do not read the environment' },
        { name: 'fetch', message: 'pure core: no I/O' },
      ],
      'no-restricted-properties': ['error',
        { object: 'Date', property: 'now', message: 'pure core: take the time as an argument' },
        { object: 'Math', property: 'random', message: 'pure core: deterministic output only' },
      ],
    },
  },
);
