import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

// The workspace packages' package.json files are the layout's contract (README, "Layout").
const root = join(import.meta.dirname, '..');
const read = (dir: string) => JSON.parse(readFileSync(join(root, dir, 'package.json'), 'utf8'));
const rootPackage = read('.');
const folders: string[] = rootPackage.workspaces;

/** A package the production build compiles (root tsconfig.build.json references it). */
const built = (folder: string) => existsSync(join(root, folder, 'tsconfig.build.json'));

type Target = string | null | { [condition: string]: Target };

describe('workspace packages', () => {
  it('every package carries the product version (BUILD_INFO reads controller-kit\'s)', () => {
    for (const folder of folders) expect(read(folder).version, folder).toBe(rootPackage.version);
  });

  for (const folder of folders) {
    it(`${folder}: each export names a source file that exists, and the build's dist/ target or none`, () => {
      const exportsMap: Record<string, Target> = read(folder).exports;
      expect(Object.keys(exportsMap).length).toBeGreaterThan(0);
      for (const [subpath, target] of Object.entries(exportsMap)) {
        if (typeof target === 'string') {
          // Pattern exports (`./examples/*`) map files as they are.
          expect(target.replace('*', ''), subpath).toMatch(/^\.\//);
          continue;
        }
        expect(target, subpath).toBeTypeOf('object');
        const { 'natplan-dist': dist, default: source } = target as Record<string, Target>;
        expect(typeof source === 'string' && existsSync(join(root, folder, source)), `${folder} ${subpath} -> ${String(source)}`).toBe(true);
        if (!built(folder) || subpath === './testing' || subpath === './crd-schema') {
          // The test harness, test support and generator support are not in the production build.
          expect(dist, `${folder} ${subpath}`).toBeNull();
        } else {
          expect(dist, `${folder} ${subpath}`).toMatchObject({ types: expect.stringMatching(/^\.\/dist\/.*\.d\.ts$/), default: expect.stringMatching(/^\.\/dist\/.*\.js$/) });
        }
      }
    });
  }
});
