import { describe, expect, it } from 'vitest';
import { cleanupDone } from './cleanup-done.js';

describe('cleanupDone', () => {
  it.each([
    ['never observed', { generation: 1 }, false],
    ['observed an older generation', { generation: 2, observedGeneration: 1, desiredNumberScheduled: 2, numberReady: 2, updatedNumberScheduled: 2 }, false],
    ['2 of 3 nodes ready', { generation: 1, observedGeneration: 1, desiredNumberScheduled: 3, numberReady: 2, updatedNumberScheduled: 3 }, false],
    ['ready but not all updated', { generation: 1, observedGeneration: 1, desiredNumberScheduled: 3, numberReady: 3, updatedNumberScheduled: 2 }, false],
    ['every node ready', { generation: 1, observedGeneration: 1, desiredNumberScheduled: 3, numberReady: 3, updatedNumberScheduled: 3 }, true],
    ['no node to clean (observed, nothing scheduled)', { generation: 1, observedGeneration: 1, desiredNumberScheduled: 0 }, true],
  ])('%s: done=%s', (_name, status, done) => {
    expect(cleanupDone(status).done).toBe(done);
  });

  it('says how far it got', () => {
    expect(cleanupDone({ generation: 1, observedGeneration: 1, desiredNumberScheduled: 3, numberReady: 1, updatedNumberScheduled: 3 }))
      .toEqual({ done: false, reason: '1 of 3 nodes cleaned' });
  });
});
