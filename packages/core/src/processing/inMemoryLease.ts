import { randomUUID } from 'node:crypto';
import { type Clock, systemClock } from '../domain/clock.js';
import { ValidationError } from '../domain/errors.js';
import { type Lease, LeaseLostError } from './lease.js';

export interface InMemoryLeasesOptions {
  /** How long a lease lives without renewal. Default 5000 ms. */
  ttlMs?: number;
  clock?: Clock;
}

/** The leases of one process, as the in-memory store is the store of one process: for tests and single-process use. */
export interface InMemoryLeases {
  /** A new contender for the lease `name` (one per projector instance). */
  lease(name: string): Lease;
}

interface Row {
  holder: string;
  token: number;
  expiresAt: number;
}

/** The same rules as the SQL lease rows: a deadline, a fencing token that grows with every change of hands. */
export function createInMemoryLeases(options: InMemoryLeasesOptions = {}): InMemoryLeases {
  const ttlMs = options.ttlMs ?? 5000;
  if (!(ttlMs > 0)) throw new ValidationError('ttlMs must be > 0', { field: 'ttlMs' });
  const clock = options.clock ?? systemClock;
  const rows = new Map<string, Row>();
  let tokens = 0;
  const now = () => clock.now().getTime();

  return {
    lease(name) {
      if (!name) throw new ValidationError('name is required', { field: 'name' });
      const holder = randomUUID();
      let token = 0;
      const mine = () => {
        const row = rows.get(name);
        return row !== undefined && row.holder === holder && row.token === token && row.expiresAt >= now();
      };
      return {
        async acquire() {
          const row = rows.get(name);
          if (row && row.holder !== holder && row.expiresAt >= now()) return false;
          token = ++tokens;
          rows.set(name, { holder, token, expiresAt: now() + ttlMs });
          return true;
        },
        async renew() {
          if (!mine()) return false;
          (rows.get(name) as Row).expiresAt = now() + ttlMs;
          return true;
        },
        async release() {
          if (rows.get(name)?.holder === holder) rows.delete(name);
          token = 0;
        },
        async fence() {
          if (!mine()) throw new LeaseLostError(name, { token });
        },
      };
    },
  };
}
