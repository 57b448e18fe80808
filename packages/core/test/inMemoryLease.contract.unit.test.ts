import { createManualClock, leaseContract } from '@tidemark/testing';
import { createInMemoryEventStore, createInMemoryLeases } from '../src/index.js';

leaseContract('in-memory', {
  fencing: true,
  async create() {
    const clock = createManualClock();
    const leases = createInMemoryLeases({ ttlMs: 1000, clock });
    const store = createInMemoryEventStore();
    return {
      contender: () => leases.lease('balances'),
      async expire() {
        clock.advance(1001);
      },
      transaction: (work) => store.transaction(work),
    };
  },
});
