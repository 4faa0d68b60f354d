// Types for pure-core.js, so the TypeScript test can import it.
import type { ESLint, Linter, Rule } from 'eslint';

export declare const PURE_CORE_FILES: string[];
export declare const IMPURE_MODULES: string[];
export declare const pureCorePlugin: ESLint.Plugin & { rules: Record<'no-impure-imports' | 'no-module-state', Rule.RuleModule> };
export declare const pureCoreConfig: Linter.Config;
