/**
 * Turns a CRD's openAPIV3Schema into the JSON Schema json-schema-to-typescript wants:
 * nested objects get titles so they become named interfaces (ServiceNatPlanSpec,
 * ServiceNatPlanEndpoint, ...), metadata becomes client-node's V1ObjectMeta, and the
 * x-kubernetes-* keywords, which mean nothing to TypeScript, are dropped.
 */
import type { CrdDescription, JsonSchema } from '@natplan/api/crd-schema';

export function typeSchemaFor(crd: CrdDescription): JsonSchema {
  const shared: Record<string, JsonSchema> = {};
  const root = retitle(crd.schema, crd.kind, shared, true);
  if (Object.keys(shared).length > 0) root.definitions = shared;
  const properties = (root.properties ?? {}) as Record<string, JsonSchema>;
  properties.apiVersion = { type: 'string', const: `${crd.group}/${crd.version}` };
  properties.kind = { type: 'string', const: crd.kind };
  properties.metadata = { tsType: 'V1ObjectMeta' };
  root.required = [...new Set([...((root.required as string[] | undefined) ?? []), 'apiVersion', 'kind'])];
  return root;
}

/**
 * Property names whose schema is the same Kubernetes type wherever it appears; they become
 * one shared definition instead of one interface per place (LabelSelector, LabelSelector1...).
 */
const SHARED_TYPES: Record<string, string> = { selector: 'LabelSelector' };

function retitle(schema: JsonSchema, title: string, shared: Record<string, JsonSchema>, isRoot = false): JsonSchema {
  const out: JsonSchema = {};
  for (const [key, value] of Object.entries(schema)) {
    if (key.startsWith('x-kubernetes-')) continue;
    out[key] = value;
  }
  if (out.type === 'object' && out.properties) {
    if (!isRoot) out.title = title;
    const props: Record<string, JsonSchema> = {};
    for (const [name, child] of Object.entries(out.properties as Record<string, JsonSchema>)) {
      const sharedName = SHARED_TYPES[name];
      if (sharedName) {
        shared[sharedName] ??= retitle(child, sharedName, shared);
        props[name] = { $ref: `#/definitions/${sharedName}` };
        continue;
      }
      props[name] = retitle(child, childTitle(title, name, isRoot), shared);
    }
    out.properties = props;
  }
  if (out.type === 'array' && out.items) {
    out.items = retitle(out.items as JsonSchema, singular(title), shared);
  }
  if (out.type === 'object' && out.additionalProperties && typeof out.additionalProperties === 'object') {
    out.additionalProperties = retitle(out.additionalProperties as JsonSchema, `${title}Value`, shared);
  }
  return out;
}

/** spec of ServiceNatPlan -> ServiceNatPlanSpec; endpoints of ServiceNatPlanSpec -> ServiceNatPlanEndpoints. */
function childTitle(parent: string, name: string, parentIsRoot: boolean): string {
  const pascal = name.charAt(0).toUpperCase() + name.slice(1);
  if (parentIsRoot) return parent + pascal;
  return parent.replace(/(Spec|Status)$/, '') + pascal;
}

function singular(title: string): string {
  if (title.endsWith('ies')) return `${title.slice(0, -3)}y`;
  if (title.endsWith('sses')) return title.slice(0, -2);
  if (title.endsWith('s')) return title.slice(0, -1);
  return `${title}Item`;
}
