/**
 * Reads the CRD YAML files in crds/ (the single source of truth of the API) into plain
 * descriptions: kind, plural, group/version and the openAPIV3Schema. Used by the
 * generator; everything at run time imports the generated modules instead.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';

export interface CrdDescription {
  file: string;
  kind: string;
  plural: string;
  group: string;
  version: string;
  namespaced: boolean;
  schema: JsonSchema;
}

export type JsonSchema = { [keyword: string]: unknown };

interface CrdDocument {
  kind?: string;
  spec?: {
    group: string;
    scope: 'Namespaced' | 'Cluster';
    names: { kind: string; plural: string };
    versions: { name: string; storage?: boolean; schema?: { openAPIV3Schema?: JsonSchema } }[];
  };
}

export function readCrds(dir: string): CrdDescription[] {
  const files = readdirSync(dir).filter((f) => f.endsWith('.yaml')).sort();
  return files.map((file) => describeCrd(file, parse(readFileSync(join(dir, file), 'utf8')) as CrdDocument));
}

function describeCrd(file: string, doc: CrdDocument): CrdDescription {
  if (doc.kind !== 'CustomResourceDefinition' || !doc.spec) throw new Error(`${file}: not a CustomResourceDefinition`);
  const storage = doc.spec.versions.find((v) => v.storage) ?? doc.spec.versions[0];
  const schema = storage?.schema?.openAPIV3Schema;
  if (!storage || !schema) throw new Error(`${file}: no openAPIV3Schema in the storage version`);
  return {
    file,
    kind: doc.spec.names.kind,
    plural: doc.spec.names.plural,
    group: doc.spec.group,
    version: storage.name,
    namespaced: doc.spec.scope === 'Namespaced',
    schema,
  };
}
