/**
 * The chart's generated files on disk are what the generators make now (the same check as
 * `npm run check:generated`, for the chart's part, inside the unit suite): a CRD changed
 * or added in crds/, or a value added to values.yaml, without `npm run generate` fails here.
 */
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { CRD_TEMPLATES_DIR, renderCrdTemplates } from './crd-templates.js';
import { withValuesTable } from './values-doc.js';

const root = new URL('../../', import.meta.url).pathname;

describe('committed chart files', () => {
  it('the CRD templates are exactly those generated from crds/*.yaml, none left over', () => {
    const generated = renderCrdTemplates(`${root}crds`);
    const onDisk = readdirSync(`${root}${CRD_TEMPLATES_DIR}`).map((f) => `${CRD_TEMPLATES_DIR}/${f}`).sort();
    expect(onDisk).toEqual([...generated.keys()].sort());
    for (const [path, content] of generated) expect(readFileSync(`${root}${path}`, 'utf8'), path).toBe(content);
  });

  it('the chart README\'s values table is the one values.yaml gives', () => {
    const readme = readFileSync(`${root}charts/natplan/README.md`, 'utf8');
    expect(readme).toBe(withValuesTable(readme, readFileSync(`${root}charts/natplan/values.yaml`, 'utf8')));
  });

  it('the chart has no crds/ folder, which Helm would install besides the templates and never upgrade', () => {
    expect(existsSync(`${root}charts/natplan/crds`)).toBe(false);
  });
});
