import type { ListWatcher, WatchEventType } from '../kube/list-watch.js';

interface OpenWatch<T> {
  resourceVersion: string;
  onEvent: (type: WatchEventType, obj: T) => void;
  onDone: (err?: unknown) => void;
  aborted: boolean;
}

/**
 * A ListWatcher whose answers the test scripts: list results (or errors) are queued with
 * `nextList`, the open watch is driven with `emit`/`close`. It imitates only the
 * ListWatcher contract (our interface); API-server behaviour is covered by the
 * integration tests.
 */
export class ScriptedListWatcher<T> implements ListWatcher<T> {
  private readonly lists: Array<{ items: T[]; resourceVersion: string } | Error> = [];
  readonly watches: OpenWatch<T>[] = [];
  listCalls = 0;

  nextList(result: { items: T[]; resourceVersion: string } | Error): this {
    this.lists.push(result);
    return this;
  }

  async list() {
    this.listCalls++;
    const next = this.lists.shift();
    if (!next) throw new Error('no list scripted');
    if (next instanceof Error) throw next;
    return { items: [...next.items], resourceVersion: next.resourceVersion };
  }

  async watch(resourceVersion: string, onEvent: OpenWatch<T>['onEvent'], onDone: OpenWatch<T>['onDone']) {
    const open: OpenWatch<T> = { resourceVersion, onEvent, onDone, aborted: false };
    this.watches.push(open);
    return { abort: () => void (open.aborted = true) };
  }

  /** The most recent watch, if still open. */
  current(): OpenWatch<T> | undefined {
    const last = this.watches.at(-1);
    return last && !last.aborted ? last : undefined;
  }

  emit(type: WatchEventType, obj: T): void {
    const open = this.current();
    if (!open) throw new Error('no open watch');
    open.onEvent(type, obj);
  }

  close(err?: unknown): void {
    const open = this.current();
    if (!open) throw new Error('no open watch');
    open.aborted = true;
    open.onDone(err);
  }
}
