// @ts-check
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import { packageBoundaries } from './tools/eslint/package-boundaries.js';
import { pureCoreConfig } from './tools/eslint/pure-core.js';

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
  // The pure cores (files, rules and the local plugin): tools/eslint/pure-core.js.
  pureCoreConfig,
);
