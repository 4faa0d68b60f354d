import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { renderValuesTable, valuesRows, withValuesTable, VALUES_TABLE_BEGIN, VALUES_TABLE_END } from './values-doc.js';

describe('values table', () => {
  it('takes each value\'s comment, above it or trailing, and groups by nested maps', () => {
    const rows = valuesRows(`# The image.
image:
  # Where from.
  repository: x
  tag: ""   # empty = appVersion
# Pods.
replicas: 2
# Requests and limits.
resources:
  requests: {cpu: 1m}
`);
    expect(rows).toEqual([
      { key: 'image', default: '', description: 'The image.', group: true },
      { key: 'image.repository', default: '"x"', description: 'Where from.', group: false },
      { key: 'image.tag', default: '""', description: 'empty = appVersion', group: false },
      { key: 'replicas', default: '2', description: 'Pods.', group: false },
      // Its children carry no comment: one value, shown whole.
      { key: 'resources', default: '{"requests":{"cpu":"1m"}}', description: 'Requests and limits.', group: false },
    ]);
  });

  it('refuses a value nobody documented', () => {
    expect(() => valuesRows('# Documented.\na: 1\nb: 2\n')).toThrow('values.yaml: b has no comment');
  });

  it('escapes what would break a Markdown table', () => {
    expect(renderValuesTable('# one | two <name>\na: 1\n')).toContain('| `a` | `1` | one \\| two &lt;name> |');
  });

  it('replaces only what lies between the markers', () => {
    const readme = `intro\n${VALUES_TABLE_BEGIN}\nold\n${VALUES_TABLE_END}\noutro\n`;
    expect(withValuesTable(readme, '# A.\na: 1\n')).toBe(`intro\n${VALUES_TABLE_BEGIN}\n| key | default | description |\n|---|---|---|\n| \`a\` | \`1\` | A. |\n${VALUES_TABLE_END}\noutro\n`);
    expect(() => withValuesTable('no markers', 'a: 1')).toThrow('markers missing');
  });

  it('documents every value of the chart', () => {
    const values = readFileSync(new URL('../../charts/natplan/values.yaml', import.meta.url), 'utf8');
    expect(valuesRows(values).filter((r) => !r.group).map((r) => r.key)).toContain('image.digest');
  });
});
