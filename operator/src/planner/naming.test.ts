import { describe, expect, it } from 'vitest';
import { servicePlanName } from './naming.js';

describe('naming', () => {
  it.each([
    ['web', 0, 'web'],
    ['web', 1, 'web.1'],
    ['web', 42, 'web.42'],
  ])('servicePlanName(%j, %d) = %j', (name, part, expected) => {
    expect(servicePlanName(name, part)).toBe(expected);
  });
});
