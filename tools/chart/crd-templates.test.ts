import { readFileSync, readdirSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { CRD_TEMPLATES_DIR, renderCrdTemplate, renderCrdTemplates } from './crd-templates.js';

const crdsDir = new URL('../../crds/', import.meta.url).pathname;
const CRD = 'apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nmetadata:\n  name: things.example.io\nspec:\n  group: example.io\n';

/** The YAML between the template's `if` and `end` lines: what Helm renders when enabled. */
const body = (template: string) => template.split('\n').slice(2, -2).join('\n');

describe('chart CRD templates', () => {
  it('wrap the CRD in crds.enabled and add the keep policy, changing nothing else', () => {
    const t = renderCrdTemplate('things.example.io.yaml', CRD);
    expect(t.split('\n')[1]).toBe('{{- if .Values.crds.enabled }}');
    const rendered = parse(body(t));
    expect(rendered.metadata.annotations).toEqual({ 'helm.sh/resource-policy': 'keep' });
    const { annotations: _a, ...metadata } = rendered.metadata;
    expect({ ...rendered, metadata }).toEqual(parse(CRD));
  });

  it.each([
    ['template delimiters', CRD.replace('example.io\n', '"{{ x }}"\n'), 'contains {{ or }}'],
    ['no metadata line', 'kind: CustomResourceDefinition\n', 'no top-level "metadata:" line'],
    ['annotations already present', CRD.replace('metadata:\n', 'metadata:\n  annotations: {a: b}\n'), 'already set'],
  ])('refuse a CRD with %s', (_name, source, message) => {
    expect(() => renderCrdTemplate('x.yaml', source)).toThrow(message);
  });

  it('cover every crds/*.yaml, so a new CRD is picked up', () => {
    const sources = readdirSync(crdsDir).filter((f) => f.endsWith('.yaml')).sort();
    expect([...renderCrdTemplates(crdsDir).keys()]).toEqual(sources.map((f) => `${CRD_TEMPLATES_DIR}/${f}`));
    for (const f of sources) {
      const { metadata: { annotations: _a, ...metadata }, ...rest } = parse(body(renderCrdTemplates(crdsDir).get(`${CRD_TEMPLATES_DIR}/${f}`)!));
      expect({ ...rest, metadata }, f).toEqual(parse(readFileSync(`${crdsDir}${f}`, 'utf8')));
    }
  });
});
