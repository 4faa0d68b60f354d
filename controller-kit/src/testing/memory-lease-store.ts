import { ApiError } from '../kube/request.js';
import type { LeaseRecord, LeaseStore } from '../kube/lease-store.js';

/**
 * One Lease in memory with resourceVersion compare-and-swap, shared by several
 * candidates in a unit test. `view(name)` gives each candidate its own handle whose
 * connection can fail (`down = true`) or hang (`hang = true`) to simulate a partitioned leader.
 */
export class MemoryLease {
  record: LeaseRecord | undefined;
  private version = 0;
  writes = 0;

  view(name = 'test/lease'): LeaseStore & { down: boolean; hang: boolean } {
    const write = (record: LeaseRecord) => this.write(record);
    const current = () => ({ record: this.record, version: String(this.version) });
    const guard = async (handle: { down: boolean; hang: boolean }) => {
      if (handle.hang) await new Promise(() => {}); // a request that never answers
      if (handle.down) throw new Error('connection refused');
    };
    const handle = {
      down: false,
      hang: false,
      description: name,
      async get() {
        await guard(handle);
        const { record, version } = current();
        return record ? { record: { ...record }, resourceVersion: version } : undefined;
      },
      async create(record: LeaseRecord) {
        await guard(handle);
        if (current().record) throw new ApiError(409, 'AlreadyExists', 'exists', undefined);
        return write(record);
      },
      async update(record: LeaseRecord, resourceVersion: string) {
        await guard(handle);
        if (resourceVersion !== current().version) throw new ApiError(409, 'Conflict', 'stale', undefined);
        return write(record);
      },
    };
    return handle;
  }

  private write(record: LeaseRecord): string {
    this.record = { ...record };
    this.writes++;
    return String(++this.version);
  }
}
