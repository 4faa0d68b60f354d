import { describe, expect, it } from 'vitest';
import { exampleFiles, invalidCases, loadExample, validEdgeCases } from './cases.js';
import { isKubernetesCIDR, isKubernetesIP, validateObject } from './index.js';

describe('ajv validators compiled from the CRD schemas', () => {
  it.each(exampleFiles())('accept the example %s', (file) => {
    expect(validateObject(loadExample(file))).toEqual({ valid: true });
  });

  it.each(validEdgeCases)('accept $name', ({ object }) => {
    expect(validateObject(object)).toEqual({ valid: true });
  });

  it.each(invalidCases)('reject $name, on $field', ({ object, field }) => {
    const result = validateObject(object);
    expect(result.valid).toBe(false);
    if (result.valid) return;
    expect(result.errors.map((e) => e.path)).toContain(field);
  });

  it('report the CRD rule message for CEL rules', () => {
    const cel = invalidCases.filter((c) => /must be a valid|exactly one|only part 0|required with|must equal|values must be/.test(c.serverSays));
    expect(cel.length).toBeGreaterThan(10);
    for (const c of cel) {
      const result = validateObject(c.object);
      if (result.valid) throw new Error(`${c.name} passed`);
      expect(result.errors.map((e) => e.message).join('\n'), c.name).toContain(c.serverSays);
    }
  });

  it('reject an object of another kind instead of passing it', () => {
    expect(validateObject({ kind: 'Service' }).valid).toBe(false);
  });
});

describe('Kubernetes IP and CIDR syntax', () => {
  it.each([
    ['10.96.0.1', true], ['0.0.0.0', true], ['255.255.255.255', true], ['fd00:10:96::a', true], ['::1', true], ['2001:db8::50', true], ['64:ff9b::192.0.2.1', true],
    ['10.96.0.256', false], ['10.96.0', false], ['010.1.1.1', false], ['fe80::1%eth0', false], ['::ffff:192.0.2.1', false], ['', false], ['host', false],
  ])('isIP(%j) is %s', (s, expected) => {
    expect(isKubernetesIP(s)).toBe(expected);
  });

  it.each([
    ['10.244.0.0/16', true], ['10.244.1.7/24', true], ['0.0.0.0/0', true], ['fd00:10:244::/56', true], ['::/0', true],
    ['10.244.0.0/33', false], ['fd00::/129', false], ['10.244.0.0', false], ['10.244.0.0/016', false], ['10.244.0.0/', false],
  ])('isCIDR(%j) is %s', (s, expected) => {
    expect(isKubernetesCIDR(s)).toBe(expected);
  });
});
