import { describe, expect, it } from 'vitest';
import type { LabelSelector } from '@natplan/api';
import { selectorMatches } from './labels.js';

const labels = { app: 'web', tier: 'front' };

describe('selectorMatches', () => {
  it.each<[string, LabelSelector, Record<string, string> | undefined, boolean]>([
    ['empty selector matches everything', {}, labels, true],
    ['empty selector matches no labels', {}, undefined, true],
    ['matchLabels equal', { matchLabels: { app: 'web' } }, labels, true],
    ['matchLabels different', { matchLabels: { app: 'db' } }, labels, false],
    ['matchLabels missing key', { matchLabels: { zone: 'a' } }, labels, false],
    ['In', { matchExpressions: [{ key: 'app', operator: 'In', values: ['db', 'web'] }] }, labels, true],
    ['In, absent key', { matchExpressions: [{ key: 'x', operator: 'In', values: ['web'] }] }, labels, false],
    ['NotIn', { matchExpressions: [{ key: 'app', operator: 'NotIn', values: ['web'] }] }, labels, false],
    ['NotIn, absent key matches', { matchExpressions: [{ key: 'x', operator: 'NotIn', values: ['web'] }] }, labels, true],
    ['Exists', { matchExpressions: [{ key: 'tier', operator: 'Exists' }] }, labels, true],
    ['DoesNotExist', { matchExpressions: [{ key: 'tier', operator: 'DoesNotExist' }] }, labels, false],
    ['all terms must hold', { matchLabels: { app: 'web' }, matchExpressions: [{ key: 'tier', operator: 'In', values: ['back'] }] }, labels, false],
  ])('%s', (_name, selector, input, expected) => {
    expect(selectorMatches(selector, input)).toBe(expected);
  });
});
