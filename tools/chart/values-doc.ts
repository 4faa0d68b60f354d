/**
 * The values table of charts/natplan/README.md, generated from the comments in
 * values.yaml so the documentation cannot drift from the defaults. A block map whose
 * children carry comments is a group (its own comment heads its rows); any other value is
 * a leaf, one row: dotted key, default, comment. A leaf without a comment is an error:
 * every value the chart accepts is documented. The table sits between two markers in the
 * README; everything else in the README is written by hand.
 */
import { isMap, isScalar, parseDocument, type Node, type Pair, type YAMLMap } from 'yaml';

export const VALUES_TABLE_BEGIN = '<!-- values-table:begin (generated from values.yaml by `npm run generate`) -->';
export const VALUES_TABLE_END = '<!-- values-table:end -->';

export interface ValueRow { key: string; default: string; description: string; group: boolean }

const text = (comment: string | null | undefined) => (comment ?? '').split('\n').map((l) => l.trim()).filter(Boolean).join(' ');

/** The comment of a pair: the lines above it (on the map for a first item) and its trailing comment. */
function commentOf(pair: Pair, map: YAMLMap, index: number): string {
  const above = index === 0 ? map.commentBefore ?? (pair.key as Node | null)?.commentBefore : (pair.key as Node | null)?.commentBefore;
  const trailing = (pair.value as Node | null)?.comment;
  return [text(above), text(trailing)].filter(Boolean).join(' ');
}

function isGroup(value: unknown): value is YAMLMap {
  if (!isMap(value) || value.flow || value.items.length === 0) return false;
  return value.items.some((pair, i) => commentOf(pair, value, i) !== '');
}

export function valuesRows(valuesYaml: string): ValueRow[] {
  const doc = parseDocument(valuesYaml);
  if (!isMap(doc.contents)) throw new Error('values.yaml: not a map');
  const rows: ValueRow[] = [];
  const walk = (map: YAMLMap, prefix: string) => {
    map.items.forEach((pair, i) => {
      const key = `${prefix}${isScalar(pair.key) ? String(pair.key.value) : String(pair.key)}`;
      const description = commentOf(pair, map, i);
      // A group's first child comment is stored on the group's map: read it there, not twice.
      const value = pair.value;
      if (isGroup(value)) {
        if (description) rows.push({ key, default: '', description, group: true });
        walk(value, `${key}.`);
        return;
      }
      if (!description) throw new Error(`values.yaml: ${key} has no comment; every value is documented`);
      rows.push({ key, default: JSON.stringify((value as Node | null)?.toJSON() ?? null), description, group: false });
    });
  };
  walk(doc.contents, '');
  return rows;
}

const cell = (s: string) => s.replace(/\|/g, '\\|').replace(/</g, '&lt;');

export function renderValuesTable(valuesYaml: string): string {
  const lines = ['| key | default | description |', '|---|---|---|'];
  for (const row of valuesRows(valuesYaml)) {
    lines.push(row.group ? `| **${row.key}** | | ${cell(row.description)} |` : `| \`${row.key}\` | \`${cell(row.default)}\` | ${cell(row.description)} |`);
  }
  return lines.join('\n');
}

/** The README with its values table replaced by a fresh one. */
export function withValuesTable(readme: string, valuesYaml: string): string {
  const begin = readme.indexOf(VALUES_TABLE_BEGIN);
  const end = readme.indexOf(VALUES_TABLE_END);
  if (begin < 0 || end < begin) throw new Error('charts/natplan/README.md: values-table markers missing');
  return `${readme.slice(0, begin + VALUES_TABLE_BEGIN.length)}\n${renderValuesTable(valuesYaml)}\n${readme.slice(end)}`;
}
