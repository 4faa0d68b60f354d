/** Test helpers for code built on controller-kit: a manual clock and fakes of controller-kit's own interfaces. */
export { FakeClock, flushMicrotasks } from './fake-clock.js';
export { ScriptedListWatcher } from './scripted-list-watcher.js';
export { MemoryLease } from './memory-lease-store.js';
export { recordingRequester, discovery } from './recording-requester.js';
