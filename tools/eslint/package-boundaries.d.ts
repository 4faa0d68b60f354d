// Types of package-boundaries.js (plain JS: eslint.config.js loads it without a compiler).
import type { Rule } from 'eslint';

export interface Workspace { dir: string; name: string; exports: string[]; declared: Set<string> }
export function readWorkspaces(root: string): { root: Workspace; packages: Workspace[] };
export const packageBoundaries: Rule.RuleModule;
