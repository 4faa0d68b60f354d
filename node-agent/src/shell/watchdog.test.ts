import { describe, expect, it } from 'vitest';
import { EnforcementWatchdog } from './watchdog.js';

function setup(boundMs = 30_000) {
  let clock = 0;
  const watchdog = new EnforcementWatchdog(boundMs, () => clock);
  return { watchdog, advance: (ms: number) => { clock += ms; } };
}

describe('EnforcementWatchdog', () => {
  it('says nothing while changes are enforced within the bound', () => {
    const { watchdog, advance } = setup();
    watchdog.changed();
    watchdog.syncStarted();
    advance(29_000);
    watchdog.syncFinished(true);
    advance(60_000);
    expect(watchdog.stall()).toBeUndefined();
    expect(watchdog.pendingMs()).toBe(0);
  });

  it('reports a sync that hangs past the bound, and clears once a sync is enforced', () => {
    const { watchdog, advance } = setup();
    watchdog.changed();
    watchdog.syncStarted();
    advance(30_000);
    expect(watchdog.stall()).toBeUndefined();
    advance(1_000);
    expect(watchdog.stall()).toBe('plan changes have waited 31 s to be enforced (bound 30 s); a sync has been running for 31 s');
    watchdog.syncFinished(true);
    expect(watchdog.stall()).toBeUndefined();
  });

  it('keeps the oldest change pending across failed syncs and says why they failed', () => {
    const { watchdog, advance } = setup(10_000);
    watchdog.changed();
    for (let i = 0; i < 3; i++) {
      watchdog.syncStarted();
      advance(4_000);
      watchdog.syncFinished(false, 'ApplyFailed (nftables, invalid): syntax error');
    }
    expect(watchdog.stall()).toBe('plan changes have waited 12 s to be enforced (bound 10 s); the last sync was not enforced: ApplyFailed (nftables, invalid): syntax error');
  });

  it('a change that arrives during a sync stays pending after that sync', () => {
    const { watchdog, advance } = setup(10_000);
    watchdog.changed();
    watchdog.syncStarted();
    advance(1_000);
    watchdog.changed();
    advance(1_000);
    watchdog.syncFinished(true);
    expect(watchdog.pendingMs()).toBe(1_000);
    advance(10_000);
    expect(watchdog.stall()).toMatch(/waited 11 s.*no sync has enforced it yet/);
  });
});
