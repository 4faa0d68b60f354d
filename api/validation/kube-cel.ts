/**
 * The part of Kubernetes' CEL environment that natplan's CRD rules use, so the ajv
 * validators evaluate `x-kubernetes-validations` exactly as the API server does:
 * `isIP` and `isCIDR` with Kubernetes' rules (no zones, no IPv4-mapped IPv6, no leading
 * zeros in IPv4), and values typed the way the API server types them (integers are CEL
 * `int`, objects are maps on which `has()` tests presence).
 */
import { celEnv, celFunc, CelScalar, isCelError, parse, plan } from '@bufbuild/cel';
import type { JsonSchema } from '../crd-schema.js';
import { parseAddr, parsePrefix } from '@natplan/netaddr';

/** Kubernetes' CEL isIP: netip.ParseAddr without zones or IPv4-mapped IPv6, which is netaddr's strict parsing. */
export function isKubernetesIP(s: string): boolean {
  return parseAddr(s) !== undefined;
}

/** Kubernetes' CEL isCIDR: netip.ParsePrefix (host bits allowed), with isIP's rules for the address. */
export function isKubernetesCIDR(s: string): boolean {
  return parsePrefix(s) !== undefined;
}

const env = celEnv({
  funcs: [
    celFunc('isIP', [CelScalar.STRING], CelScalar.BOOL, (s: string) => isKubernetesIP(s)),
    celFunc('isCIDR', [CelScalar.STRING], CelScalar.BOOL, (s: string) => isKubernetesCIDR(s)),
  ],
  variables: { self: CelScalar.DYN },
});

export type CelRule = (self: unknown) => { ok: true } | { ok: false; error?: string };

export function compileRule(rule: string): CelRule {
  const program = plan(env, parse(rule));
  return (self) => {
    const result = program({ self: self as never });
    if (isCelError(result)) return { ok: false, error: result.message };
    return result === true ? { ok: true } : { ok: false };
  };
}

/** A JSON value as the API server hands it to CEL, typed by its schema. */
export function toCelValue(value: unknown, schema: JsonSchema | undefined): unknown {
  if (value === null || value === undefined) return value;
  if (schema?.type === 'integer' && typeof value === 'number') return BigInt(value);
  if (Array.isArray(value)) return value.map((v) => toCelValue(v, schema?.items as JsonSchema | undefined));
  if (typeof value === 'object') {
    const props = (schema?.properties ?? {}) as Record<string, JsonSchema>;
    const extra = typeof schema?.additionalProperties === 'object' ? (schema.additionalProperties as JsonSchema) : undefined;
    return new Map(Object.entries(value).map(([k, v]) => [k, toCelValue(v, props[k] ?? extra)]));
  }
  return value;
}
