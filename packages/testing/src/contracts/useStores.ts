import type { EventStore } from '@tidemark/core';
import { afterAll, afterEach } from 'vitest';
import type { EventStoreHarness, EventStoreHarnessOptions } from './eventStoreHarness.js';

/**
 * Opens stores through the harness and closes every one of them after each test (or after the
 * describe block with `scope: 'all'`), so that pools and file handles never keep a test process alive.
 */
export function useStores(
  harness: EventStoreHarness,
  scope: 'each' | 'all' = 'each',
): (options?: EventStoreHarnessOptions) => Promise<EventStore> {
  const open: EventStore[] = [];
  const closeAll = async () => {
    await Promise.all(open.splice(0).map((store) => store.close()));
  };
  if (scope === 'each') afterEach(closeAll);
  else afterAll(closeAll);
  return async (options) => {
    const store = await harness.create(options);
    open.push(store);
    return store;
  };
}
