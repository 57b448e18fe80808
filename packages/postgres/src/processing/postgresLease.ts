import type { Lease } from '@tidemark/core';
import { isWellFormed, ValidationError } from '@tidemark/core';
import pg from 'pg';

export interface PostgresLeaseOptions {
  url: string;
  /** The projection's name: one lease per name (and schema). */
  name: string;
  /** Namespace of the lock key, so that two stores in one database do not share leases. Default 'tidemark'. */
  schema?: string;
}

export interface PostgresLease extends Lease {
  /** Whether this instance believes it holds the lease (as of its last acquire/renew). */
  readonly held: boolean;
}

// First key of the two-int advisory lock: marks the lock as a tidemark projector lease, so it
// cannot collide with advisory locks an application takes on single bigint keys.
// The second key is hashtext('schema.name'): 32 bits, so two names could share a lock (one
// projector would then wait for the other). With tens of projections the odds are ~1e-7.
const leaseLockClass = 0x7d3a_1e05;

/**
 * One active projector per name across processes: a session-level advisory lock held on a
 * dedicated connection (not a pooled one — returning it to a pool would hand the lock to
 * whoever borrows the connection next). PostgreSQL releases the lock when the session ends,
 * so a killed process gives its lease up as soon as the server notices the dead socket, with
 * no expiry to wait for and no heartbeat to tune. Keepalive is on so a vanished host is
 * noticed too.
 */
export function createPostgresLease(options: PostgresLeaseOptions): PostgresLease {
  if (!options.name) throw new ValidationError('name is required', { field: 'name' });
  if (!isWellFormed(options.name)) throw new ValidationError('name must be well-formed Unicode (no lone surrogates)', { field: 'name' });
  const key = `${options.schema ?? 'tidemark'}.${options.name}`;
  let client: pg.Client | undefined;
  let held = false;

  const drop = () => {
    const old = client;
    client = undefined;
    held = false;
    old?.end().catch(() => {});
  };

  async function connection(): Promise<pg.Client> {
    if (client) return client;
    const fresh = new pg.Client({
      connectionString: options.url,
      keepAlive: true,
      // A half-open connection must not hang renew(): the projector calls it before every batch.
      connectionTimeoutMillis: 5000,
      query_timeout: 5000,
      application_name: `tidemark-lease:${key}`.slice(0, 63),
    });
    // A dropped connection means the server has released (or will release) the lock.
    fresh.on('error', () => {
      if (client === fresh) drop();
    });
    fresh.on('end', () => {
      if (client === fresh) drop();
    });
    await fresh.connect();
    client = fresh;
    return fresh;
  }

  async function stillHeld(): Promise<boolean> {
    const current = client;
    if (!current) return false;
    const result = await current.query<{ held: boolean }>(
      `SELECT EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND pid = pg_backend_pid() AND granted
         AND classid = $1::int::oid AND objid = hashtext($2)::oid AND objsubid = 2) AS held`,
      [leaseLockClass, key],
    );
    return result.rows[0]?.held === true;
  }

  return {
    get held() {
      return held;
    },
    async acquire(): Promise<boolean> {
      try {
        // Session locks stack: taking it again while held would need two unlocks to release.
        if (held) {
          held = await stillHeld();
          return held;
        }
        const db = await connection();
        const result = await db.query<{ acquired: boolean }>('SELECT pg_try_advisory_lock($1, hashtext($2)) AS acquired', [
          leaseLockClass,
          key,
        ]);
        held = result.rows[0]?.acquired === true;
        return held;
      } catch {
        drop();
        return false;
      }
    },
    async renew(): Promise<boolean> {
      try {
        held = held && (await stillHeld());
      } catch {
        drop();
      }
      return held;
    },
    async release(): Promise<void> {
      const current = client;
      if (!current) return;
      try {
        if (held) await current.query('SELECT pg_advisory_unlock($1, hashtext($2))', [leaseLockClass, key]);
      } catch {
        // Ending the session below releases it anyway.
      }
      drop();
    },
  };
}
