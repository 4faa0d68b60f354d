import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RuleTester } from 'eslint';
import { afterAll, describe, it } from 'vitest';
import { packageBoundaries } from './package-boundaries.js';

// RuleTester reports through the test framework's describe/it.
RuleTester.describe = describe;
RuleTester.it = it;

// A two-package workspace on disk: the rule reads package.json files, not a mock.
const root = mkdtempSync(join(tmpdir(), 'natplan-boundaries-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
const write = (path: string, json: object) => {
  mkdirSync(join(root, path, '..'), { recursive: true });
  writeFileSync(join(root, path), JSON.stringify(json));
};
write('package.json', { name: 'root', workspaces: ['kit', 'app'], devDependencies: { '@natplan/kit': '*' } });
write('kit/package.json', { name: '@natplan/kit', exports: { '.': './src/index.ts', './testing': './src/testing/index.ts', './examples/*': './examples/*' } });
write('app/package.json', { name: '@natplan/app', exports: { '.': './src/index.ts' }, dependencies: { '@natplan/kit': '*' } });

const tester = new RuleTester({ languageOptions: { ecmaVersion: 2022, sourceType: 'module' } });
const options = [{ root }];
const at = (path: string) => join(root, path);

tester.run('package-boundaries', packageBoundaries, {
  valid: [
    { code: "import { a } from './local.js';", filename: at('app/src/x.ts'), options },
    { code: "import { a } from '../shell/y.js';", filename: at('app/src/planner/x.ts'), options },
    { code: "import { a } from '@natplan/kit';", filename: at('app/src/x.ts'), options },
    { code: "import raw from '@natplan/kit/examples/a.yaml?raw';", filename: at('app/src/x.test.ts'), options },
    { code: "import { fake } from '@natplan/kit/testing';", filename: at('app/src/x.test.ts'), options },
    { code: "import { fake } from '@natplan/kit/testing';", filename: at('app/test/harness.ts'), options },
    { code: "import { a } from '@natplan/kit';", filename: at('bench/b.ts'), options },
    { code: "const m = await import('@natplan/kit');", filename: at('bin/cli.ts'), options },
    // A data file's text is not code: the CRD examples outside any package.
    { code: "import text from '../../../crds/examples/a.yaml?raw';", filename: at('app/src/planner/x.test.ts'), options },
  ],
  invalid: [
    // A deep relative import into another package's folder.
    { code: "import { a } from '../../kit/src/a.js';", filename: at('app/src/x.ts'), options, errors: [{ message: /reaches into @natplan\/kit's files/ }] },
    { code: "export * from '../kit/src/a.js';", filename: at('bench/b.ts'), options, errors: [{ message: /reaches into @natplan\/kit's files/ }] },
    { code: "const m = await import('../../kit/src/a.js');", filename: at('app/src/x.ts'), options, errors: [{ message: /reaches into/ }] },
    { code: "import code from '../../kit/src/a.ts?raw';", filename: at('app/src/x.ts'), options, errors: [{ message: /reaches into/ }] },
    // A subpath the exports map does not list.
    { code: "import { a } from '@natplan/kit/src/a.js';", filename: at('app/src/x.ts'), options, errors: [{ message: /does not export '.\/src\/a.js'/ }] },
    // An undeclared dependency, and a package that does not exist.
    { code: "import { a } from '@natplan/app';", filename: at('kit/src/x.ts'), options, errors: [{ message: /without declaring it/ }] },
    { code: "import { a } from '@natplan/nope';", filename: at('app/src/x.ts'), options, errors: [{ message: /no workspace package/ }] },
    // Test support in production code.
    { code: "import { fake } from '@natplan/kit/testing';", filename: at('app/src/shell/x.ts'), options, errors: [{ message: /test support/ }] },
  ],
});
