// @ts-check
/**
 * `natplan/package-boundaries`: a file imports another workspace package only by name and
 * only through a subpath that package's `exports` map lists, never by a relative path into
 * its folder; the package must be declared in the importer's package.json; and a `testing`
 * export is for tests only (production sources may not import it).
 *
 * Packages come from the root package.json's `workspaces`; a file belongs to the package
 * whose folder holds it (bin/, bench/, tools/ belong to the root package).
 */
import { readFileSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';

/** @typedef {{ dir: string, name: string, exports: string[], declared: Set<string> }} Workspace */

/** @param {string} root @returns {{ root: Workspace, packages: Workspace[] }} */
export function readWorkspaces(root) {
  /** @param {string} dir @returns {Workspace} */
  const read = (dir) => {
    const json = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
    const exportsMap = json.exports && typeof json.exports === 'object' ? Object.keys(json.exports) : ['.'];
    const declared = new Set([...Object.keys(json.dependencies ?? {}), ...Object.keys(json.devDependencies ?? {})]);
    return { dir, name: json.name, exports: exportsMap, declared };
  };
  const rootPackage = read(root);
  const folders = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).workspaces ?? [];
  return { root: rootPackage, packages: folders.map((/** @type {string} */ f) => read(join(root, f))) };
}

/** @param {string[]} exportsMap @param {string} subpath "." or "./x" */
function isExported(exportsMap, subpath) {
  return exportsMap.some((key) => {
    const star = key.indexOf('*');
    if (star < 0) return key === subpath;
    return subpath.startsWith(key.slice(0, star)) && subpath.endsWith(key.slice(star + 1));
  });
}

/** Test code: test files, test/ and testing/ folders, the e2e harness, benchmarks. */
const TEST_CODE = /(\.test\.ts|\.test-support\.ts|test-builders\.ts)$|[/\\](test|testing|e2e|bench)[/\\]/;

/** @type {import('eslint').Rule.RuleModule} */
export const packageBoundaries = {
  meta: {
    type: 'problem',
    docs: { description: 'imports across workspace packages go through their exports maps' },
    schema: [{ type: 'object', properties: { root: { type: 'string' } }, additionalProperties: false }],
  },
  create(context) {
    const root = resolve(context.options[0]?.root ?? context.cwd);
    const { root: rootPackage, packages } = readWorkspaces(root);
    const ownerOf = (/** @type {string} */ path) =>
      packages.find((p) => path === p.dir || path.startsWith(p.dir + sep)) ?? rootPackage;
    const file = resolve(context.filename);
    const owner = ownerOf(file);
    const isTestCode = TEST_CODE.test(relative(root, file));

    /** @param {import('estree').Node} node @param {unknown} source */
    const check = (node, source) => {
      if (typeof source !== 'string') return;
      // `?raw` reads a data file's text (the CRD examples in crds/), it links no code.
      if (source.endsWith('?raw') && !/\.[cm]?[jt]s\?raw$/.test(source)) return;
      if (source.startsWith('.')) {
        const target = ownerOf(resolve(dirname(file), source));
        if (target !== owner) {
          context.report({ node, message: `'${source}' reaches into ${target.name}'s files; import '${target.name}' (or one of its exports: ${target.exports.join(', ')}) instead` });
        }
        return;
      }
      const match = /^(@natplan\/[^/]+)(\/.*)?$/.exec(source);
      if (!match) return;
      const [, name, rest] = match;
      const target = packages.find((p) => p.name === name);
      if (!target) { context.report({ node, message: `no workspace package is called ${name}` }); return; }
      const subpath = '.' + (rest ?? '').replace(/\?.*$/, '');
      if (!isExported(target.exports, subpath)) {
        context.report({ node, message: `${name} does not export '${subpath}' (its exports: ${target.exports.join(', ')})` });
      }
      if (target !== owner && !owner.declared.has(name)) {
        context.report({ node, message: `${owner.name} imports ${name} without declaring it in its package.json` });
      }
      if (subpath === './testing' && !isTestCode) {
        context.report({ node, message: `${name}/testing is test support: production code may not import it` });
      }
    };
    return {
      ImportDeclaration: (node) => check(node, node.source.value),
      ExportNamedDeclaration: (node) => node.source && check(node, node.source.value),
      ExportAllDeclaration: (node) => check(node, node.source.value),
      ImportExpression: (node) => node.source.type === 'Literal' && check(node, node.source.value),
    };
  },
};
