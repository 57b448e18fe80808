import { randomBytes } from 'node:crypto';
import { createManualClock, leaseContract } from '@tidemark/testing';
import { createSqliteEventStore, createSqliteLease, type SqliteLease, type SqliteTransaction } from '../src/index.js';
import { tempSqliteFiles } from './tempSqliteFiles.js';

const files = tempSqliteFiles('tidemark-lease-contract-');
const stores: Array<ReturnType<typeof createSqliteEventStore>> = [];
const leases: SqliteLease[] = [];

leaseContract<SqliteTransaction>('SQLite lease row', {
  fencing: true,
  async create() {
    const file = files.next();
    const store = createSqliteEventStore({ file });
    stores.push(store);
    // A manual clock: the deadline passes when told, and the heartbeat (ttl / 3) never fires.
    const clock = createManualClock(new Date());
    const name = `balances_${randomBytes(4).toString('hex')}`;
    return {
      contender() {
        const lease = createSqliteLease({ file, name, ttlMs: 60_000, clock });
        leases.push(lease);
        return lease;
      },
      async expire() {
        clock.advance(60_001);
      },
      transaction: (work) => store.transaction(work),
    };
  },
  async teardown() {
    for (const lease of leases) await lease.close();
    for (const store of stores) await store.close();
    files.remove();
  },
});
