import { afterAll } from 'vitest';
import type { EventStoreHarness } from './eventStoreHarness.js';

const users = new WeakMap<EventStoreHarness, number>();

/**
 * Declares that the current describe block uses `harness`, and tears the harness down after
 * the LAST block that uses it. An adapter may run several contracts with one harness in one
 * file; tearing down after the first would pull the pool out from under the others. All
 * blocks register while the file is collected, before any afterAll runs, so the count only
 * reaches zero at the end.
 */
export function useHarness(harness: EventStoreHarness): void {
  users.set(harness, (users.get(harness) ?? 0) + 1);
  afterAll(async () => {
    const remaining = (users.get(harness) ?? 1) - 1;
    users.set(harness, remaining);
    if (remaining === 0) await harness.teardown?.();
  });
}
