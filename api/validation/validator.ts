/**
 * ajv validators compiled from the same openAPIV3Schema the API server enforces
 * (api/generated/schemas.ts, generated from crds/*.yaml). The Kubernetes extensions are
 * handled explicitly; everything else runs in ajv's strict mode:
 * - unknown fields are errors (as with `fieldValidation=Strict`), unless the schema says
 *   x-kubernetes-preserve-unknown-fields;
 * - x-kubernetes-validations are evaluated as CEL (kube-cel.ts);
 * - x-kubernetes-list-type map/set reject duplicate keys/items.
 * metadata is validated by the API server itself and left alone here.
 */
import { Ajv, type AnySchema, type ErrorObject, type ValidateFunction } from 'ajv';
import { crdSchemas, type NatplanKind } from '../generated/schemas.js';
import type { JsonSchema } from '../crd-schema.js';
import { RFC3339 } from './formats.js';
import { compileRule, toCelValue } from './kube-cel.js';

export interface FieldError { path: string; message: string }
export type ValidationResult = { valid: true } | { valid: false; errors: FieldError[] };

function makeAjv(): Ajv {
  const ajv = new Ajv({ strict: true, allErrors: true, strictRequired: false, allowUnionTypes: false });
  ajv.addFormat('date-time', RFC3339);
  for (const keyword of ['x-kubernetes-list-map-keys', 'x-kubernetes-preserve-unknown-fields', 'x-kubernetes-embedded-resource', 'x-kubernetes-int-or-string']) {
    ajv.addKeyword({ keyword });
  }
  ajv.addKeyword({
    keyword: 'x-kubernetes-validations',
    schemaType: 'array',
    errors: true,
    compile(rules: { rule: string; message?: string }[], parentSchema: JsonSchema) {
      const compiled = rules.map((r) => ({ ...r, check: compileRule(r.rule) }));
      const validate = (data: unknown): boolean => {
        const self = toCelValue(data, parentSchema);
        const errors = compiled.flatMap(({ rule, message, check }) => {
          const result = check(self);
          if (result.ok) return [];
          return [{ keyword: 'x-kubernetes-validations', message: result.error ?? message ?? `failed rule: ${rule}`, params: { rule } }];
        });
        (validate as { errors?: Partial<ErrorObject>[] }).errors = errors;
        return errors.length === 0;
      };
      return validate;
    },
  });
  ajv.addKeyword({
    keyword: 'x-kubernetes-list-type',
    schemaType: 'string',
    errors: true,
    compile(listType: string, parentSchema: JsonSchema) {
      const keys = (parentSchema['x-kubernetes-list-map-keys'] as string[] | undefined) ?? [];
      const validate = (data: unknown): boolean => {
        if (!Array.isArray(data) || listType === 'atomic') return true;
        const seen = new Set<string>();
        const errors: Partial<ErrorObject>[] = [];
        data.forEach((item, index) => {
          const key = JSON.stringify(listType === 'map' ? keys.map((k) => (item as Record<string, unknown>)?.[k]) : item);
          if (seen.has(key)) errors.push({ keyword: 'x-kubernetes-list-type', message: `Duplicate value: ${key}`, params: { listType, index } });
          seen.add(key);
        });
        (validate as { errors?: Partial<ErrorObject>[] }).errors = errors;
        return errors.length === 0;
      };
      return validate;
    },
  });
  return ajv;
}

/** The schema as ajv should read it: objects with declared properties are closed. */
function closeObjects(schema: JsonSchema, isRoot = false): JsonSchema {
  const out: JsonSchema = { ...schema };
  if (out.properties) {
    out.properties = Object.fromEntries(Object.entries(out.properties as Record<string, JsonSchema>).map(([k, v]) => {
      if (isRoot && k === 'metadata') return [k, { type: 'object' }];
      return [k, closeObjects(v)];
    }));
    if (out.additionalProperties === undefined && !out['x-kubernetes-preserve-unknown-fields']) out.additionalProperties = false;
  }
  if (out.items && typeof out.items === 'object') out.items = closeObjects(out.items as JsonSchema);
  if (out.additionalProperties && typeof out.additionalProperties === 'object') out.additionalProperties = closeObjects(out.additionalProperties as JsonSchema);
  return out;
}

function kindSchema(kind: NatplanKind): JsonSchema {
  const { group, version, schema } = crdSchemas[kind];
  const root = closeObjects(JSON.parse(JSON.stringify(schema)) as JsonSchema, true);
  const props = root.properties as Record<string, JsonSchema>;
  props.apiVersion = { type: 'string', const: `${group}/${version}` };
  props.kind = { type: 'string', const: kind };
  return root;
}

/** `/spec/ports/0/port` -> `spec.ports[0].port`, the API server's way of naming a field. */
export function fieldPath(error: ErrorObject): string {
  const segments = error.instancePath.split('/').filter(Boolean);
  const extra = error.params as { missingProperty?: string; additionalProperty?: string; index?: number };
  const leaf = extra.missingProperty ?? extra.additionalProperty ?? extra.index;
  if (leaf !== undefined) segments.push(String(leaf));
  return segments.reduce((path, s) => (/^\d+$/.test(s) ? `${path}[${s}]` : path ? `${path}.${s}` : s), '');
}

const ajv = makeAjv();
/** Every kind compiled once, at load (the exports below need all four anyway); never changed after. */
const compiled: ReadonlyMap<NatplanKind, ValidateFunction> = new Map(
  (Object.keys(crdSchemas) as NatplanKind[]).map((kind) => [kind, ajv.compile(kindSchema(kind) as AnySchema)]),
);

export function validatorFor(kind: NatplanKind): (obj: unknown) => ValidationResult {
  const fn = compiled.get(kind);
  if (!fn) throw new Error(`not a natplan.io kind: ${kind}`);
  return (obj) => {
    if (fn(obj)) return { valid: true };
    return { valid: false, errors: (fn.errors ?? []).map((e) => ({ path: fieldPath(e), message: e.message ?? e.keyword })) };
  };
}

export const validateServiceNatPlan = validatorFor('ServiceNatPlan');
export const validateNodeNatPlan = validatorFor('NodeNatPlan');
export const validateNatExposurePolicy = validatorFor('NatExposurePolicy');
export const validateNatExposureGrant = validatorFor('NatExposureGrant');

/** Validates any natplan object by its kind; unknown kinds are an error, not a pass. */
export function validateObject(obj: { kind?: unknown }): ValidationResult {
  const kind = obj.kind;
  if (typeof kind !== 'string' || !(kind in crdSchemas)) {
    return { valid: false, errors: [{ path: 'kind', message: `not a natplan.io kind: ${String(kind)}` }] };
  }
  return validatorFor(kind as NatplanKind)(obj);
}
