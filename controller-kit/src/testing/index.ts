/** Test helpers for code built on controller-kit: a manual clock, fakes of controller-kit's own interfaces, and a local HTTP server that fails on command. */
export { FakeClock, flushMicrotasks } from './fake-clock.js';
export { ScriptedListWatcher } from './scripted-list-watcher.js';
export { MemoryLease } from './memory-lease-store.js';
export { recordingRequester, discovery } from './recording-requester.js';
export { FaultyServer, answerJson, type FaultyHandler, type RequestInfo } from './faulty-server.js';
export { trapUnhandled } from './unhandled.js';
