import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { type Clock, isWellFormed, type Lease, LeaseLostError, systemClock, ValidationError } from '@tidemark/core';
import type Database from 'better-sqlite3';
import { isMemoryDatabase, openSqliteDatabase } from '../eventStore/openSqliteDatabase.js';
import type { SqliteTransaction } from '../eventStore/sqliteEventStore.js';
import { migrateSqliteSchema } from '../schema/migrateSqliteSchema.js';

export interface SqliteLeaseOptions {
  /** The database file the projectors share (the store's file). */
  file: string;
  /** The projection's name: one lease per name. */
  name: string;
  /** How long a lease lives without a heartbeat. Default 5000 ms: the worst-case failover time. */
  ttlMs?: number;
  /** How often the holder extends it while it holds it. Default ttlMs / 3, so two missed beats are survivable. */
  heartbeatMs?: number;
  clock?: Clock;
}

export interface SqliteLease extends Lease<SqliteTransaction> {
  readonly held: boolean;
  readonly holder: string;
  /** Releases the lease (if held) and closes the lease's connection. */
  close(): Promise<void>;
}

/**
 * One active projector per name across processes sharing one SQLite file: a lease row with an
 * expiry, taken and extended by single atomic statements on a connection of its own. SQLite has
 * no sessions to tie a lock to, so a killed holder is noticed when its lease expires (ttlMs);
 * the holder beats well inside that. Time comes from the clock of each process, which on one
 * machine (the only place processes can share a SQLite file safely) is the same clock.
 */
export function createSqliteLease(options: SqliteLeaseOptions): SqliteLease {
  if (!options.name) throw new ValidationError('name is required', { field: 'name' });
  if (!isWellFormed(options.name)) throw new ValidationError('name must be well-formed Unicode (no lone surrogates)', { field: 'name' });
  // A private in-memory database is a different database on every connection: no lease at all.
  if (isMemoryDatabase(options.file)) throw new ValidationError('a lease needs a database file that processes share', { field: 'file' });
  const ttlMs = options.ttlMs ?? 5000;
  // Checked as numbers: a string '300' would make `now + ttlMs` a string and the lease all but eternal.
  if (!Number.isSafeInteger(ttlMs) || ttlMs < 2) throw new ValidationError('ttlMs must be a whole number ≥ 2', { field: 'ttlMs' });
  const heartbeatMs = options.heartbeatMs ?? Math.max(1, Math.floor(ttlMs / 3));
  if (!Number.isSafeInteger(heartbeatMs) || heartbeatMs < 1)
    throw new ValidationError('heartbeatMs must be a whole number ≥ 1', { field: 'heartbeatMs' });
  if (!(heartbeatMs < ttlMs)) throw new ValidationError('heartbeatMs must be shorter than ttlMs', { field: 'heartbeatMs' });
  const clock = options.clock ?? systemClock;
  const holder = `${hostname()}:${process.pid}:${randomUUID()}`;
  let db: Database.Database | undefined;
  let held = false;
  // The expiry we last wrote: the lease is ours until then whatever happens to our writes.
  let validUntil = 0;
  // Ours while held: a new one with every take, so a holder that lost the lease and took it back
  // cannot commit a batch it started under the old one.
  let token: number | undefined;
  let heartbeat: NodeJS.Timeout | undefined;

  function connection(): Database.Database {
    if (db) return db;
    // No busy wait: better-sqlite3 waits synchronously, and in the projector's own process the
    // write lock is often held by the store across an await — waiting would block the very
    // event loop that has to finish that transaction. A busy database is handled below.
    const opened = openSqliteDatabase(options.file, { synchronous: 'FULL', busyTimeoutMs: 0 });
    try {
      // The lease table is part of the store's schema: bring the file up to date as the store would.
      migrateSqliteSchema(opened, options.file);
    } catch (error) {
      opened.close();
      throw error;
    }
    db = opened;
    return opened;
  }

  // Takes the row when it is free, expired or already ours — one statement, so two processes
  // racing for an expired lease cannot both win.
  const take = () => {
    const now = clock.now().getTime();
    const row = connection()
      .prepare<[string, string, number, number], { token: number }>(
        `INSERT INTO tidemark_leases (name, holder, token, expires_at) VALUES (?, ?, 1, ?)
         ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, token = tidemark_leases.token + 1, expires_at = excluded.expires_at
         WHERE tidemark_leases.holder = excluded.holder OR tidemark_leases.expires_at < ?
         RETURNING token`,
      )
      .get(options.name, holder, now + ttlMs, now);
    token = row?.token;
    if (row) validUntil = now + ttlMs;
    return row !== undefined;
  };

  // Extends only a lease that is still ours and not yet expired: once expired, another
  // instance may have taken it and begun projecting, so we must not resurrect ours.
  const extend = () => {
    const now = clock.now().getTime();
    const extended =
      connection()
        .prepare('UPDATE tidemark_leases SET expires_at = ? WHERE name = ? AND holder = ? AND token = ? AND expires_at >= ?')
        .run(now + ttlMs, options.name, holder, token ?? -1, now).changes === 1;
    if (extended) validUntil = now + ttlMs;
    return extended;
  };

  // After a failed write: SQLITE_BUSY only means "not now" — we keep the lease while the
  // expiry we wrote is comfortably ahead (a beat of margin); anything else loses it.
  const afterError = (error: unknown) =>
    (error as { code?: string }).code === 'SQLITE_BUSY' && held && validUntil - heartbeatMs > clock.now().getTime();

  function setHeld(value: boolean) {
    held = value;
    if (held && !heartbeat) {
      heartbeat = setInterval(() => {
        try {
          setHeld(extend());
        } catch (error) {
          setHeld(afterError(error));
        }
      }, heartbeatMs);
      // The heartbeat must not keep a finished process alive.
      heartbeat.unref();
    } else if (!held && heartbeat) {
      clearInterval(heartbeat);
      heartbeat = undefined;
    }
  }

  async function release(): Promise<void> {
    const wasHeld = held;
    setHeld(false);
    validUntil = 0;
    if (!wasHeld || !db) return;
    try {
      db.prepare('DELETE FROM tidemark_leases WHERE name = ? AND holder = ? AND token = ?').run(options.name, holder, token ?? -1);
    } catch {
      // Busy: the row simply expires after ttlMs.
    }
    token = undefined;
  }

  return {
    holder,
    get held() {
      return held;
    },
    async acquire(): Promise<boolean> {
      try {
        // take() also re-takes our own row, expired or not: acquiring is allowed to start over
        // (renew is the call that must not resurrect a lapsed lease mid-work).
        setHeld(take());
      } catch (error) {
        // A busy database: the projector retries acquire every leaseRetryMs.
        setHeld(afterError(error));
      }
      return held;
    },
    async renew(): Promise<boolean> {
      if (!held) return false;
      try {
        setHeld(extend());
      } catch (error) {
        setHeld(afterError(error));
      }
      return held;
    },
    release,
    async fence(tx) {
      // In the store's write transaction: the lease row cannot change hands before it commits.
      const row = tx.db
        .prepare('SELECT 1 FROM tidemark_leases WHERE name = ? AND holder = ? AND token = ? AND expires_at >= ?')
        .get(options.name, holder, token ?? -1, clock.now().getTime());
      if (!row) {
        setHeld(false);
        throw new LeaseLostError(options.name, { holder, token });
      }
    },
    async close(): Promise<void> {
      await release();
      db?.close();
      db = undefined;
    },
  };
}
