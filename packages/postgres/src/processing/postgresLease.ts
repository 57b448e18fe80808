import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { isWellFormed, type Lease, LeaseLostError, ValidationError } from '@tidemark/core';
import pg from 'pg';
import { isConnectionFailure, toTypedError } from '../eventStore/connectionErrors.js';
import { isTransientPostgresError } from '../eventStore/isTransientPostgresError.js';
import type { PostgresTransaction } from '../eventStore/postgresTransaction.js';
import { assertValidSchemaName, quoteIdentifier } from '../schema/schemaName.js';

export interface PostgresLeaseOptions {
  url: string;
  /** The projection's name: one lease per name (and schema). */
  name: string;
  /** The store's schema, whose migrations created the lease table. Default 'tidemark'. */
  schema?: string;
  /**
   * How long the lease lives without renewal: the longest a vanished holder keeps a standby
   * waiting. The projector renews every `leaseRenewMs` (default 1 s), so keep it several
   * times that. Default 10000 ms.
   */
  ttlMs?: number;
}

export interface PostgresLease extends Lease<PostgresTransaction> {
  /** Whether this instance believes it holds the lease (as of its last acquire/renew). */
  readonly held: boolean;
  readonly holder: string;
}

/**
 * One active projector per name across processes: a row in the store's `tidemark_leases` with
 * a holder, a deadline and a fencing token. Deadlines are set and compared by the server's
 * clock, so hosts' clocks do not matter. A holder that vanishes without closing anything (host
 * gone, process frozen, network cut) simply stops renewing, and a standby takes the row over
 * once the deadline passes — an advisory lock would have lived as long as the server thought the
 * session alive, hours with default keepalives. Renewals use a connection of their own with a
 * query timeout under the time to live, so a holder whose network is gone finds out (renew
 * fails) before its lease could be taken. The batch transactions of the holder lock the row
 * (FOR SHARE) after checking the token: a holder that lost the lease cannot commit, and the
 * lease cannot change hands in the middle of a batch.
 */
export function createPostgresLease(options: PostgresLeaseOptions): PostgresLease {
  if (!options.name) throw new ValidationError('name is required', { field: 'name' });
  if (!isWellFormed(options.name)) throw new ValidationError('name must be well-formed Unicode (no lone surrogates)', { field: 'name' });
  // PostgreSQL text cannot hold U+0000: every statement with the name would fail (22021).
  if (options.name.includes('\u0000')) throw new ValidationError('name must not contain U+0000 (NUL)', { field: 'name' });
  const schema = options.schema ?? 'tidemark';
  assertValidSchemaName(schema);
  const ttlMs = options.ttlMs ?? 10_000;
  if (!Number.isSafeInteger(ttlMs) || ttlMs < 10) throw new ValidationError('ttlMs must be a whole number ≥ 10', { field: 'ttlMs' });
  const table = `${quoteIdentifier(schema)}.tidemark_leases`;
  const name = options.name;
  const holder = `${hostname()}:${process.pid}:${randomUUID()}`;
  // Half the time to live: a renewal that cannot answer in time must fail while the lease is still ours.
  const timeoutMs = Math.max(5, Math.floor(ttlMs / 2));
  let client: pg.Client | undefined;
  let held = false;
  let token: string | undefined;

  const drop = () => {
    const old = client;
    client = undefined;
    old?.end().catch(() => {});
  };

  async function connection(): Promise<pg.Client> {
    if (client) return client;
    const fresh = new pg.Client({
      connectionString: options.url,
      keepAlive: true,
      connectionTimeoutMillis: timeoutMs,
      query_timeout: timeoutMs,
      application_name: `tidemark-lease:${schema}.${name}`.slice(0, 63),
    });
    fresh.on('error', () => {
      if (client === fresh) drop();
    });
    await fresh.connect();
    client = fresh;
    return fresh;
  }

  return {
    holder,
    get held() {
      return held;
    },
    async acquire(): Promise<boolean> {
      try {
        const db = await connection();
        // Free, expired or ours: take it, with a new token — one statement, so two standbys
        // racing for an expired lease cannot both win.
        const result = await db.query<{ token: string }>(
          `INSERT INTO ${table} AS l (name, holder, token, expires_at) VALUES ($1, $2, 1, clock_timestamp() + $3 * interval '1 millisecond')
           ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, token = l.token + 1, expires_at = excluded.expires_at
           WHERE l.holder = excluded.holder OR l.expires_at < clock_timestamp()
           RETURNING token::text`,
          [name, holder, ttlMs],
        );
        token = result.rows[0]?.token;
        held = token !== undefined;
        return held;
      } catch (error) {
        drop();
        held = false;
        // Only an unreachable or busy server is "not now": the caller stands by and tries again.
        // Anything else — a missing table, a role without rights, a value the server refuses —
        // fails every later attempt the same way: say so (the projector reports it) rather than
        // stand by forever without a word.
        if (!isTransientPostgresError(error) && !isConnectionFailure(error)) throw toTypedError(error);
        return false;
      }
    },
    async renew(): Promise<boolean> {
      if (!held || token === undefined) return false;
      try {
        const db = await connection();
        // Only while still ours and not yet expired: once expired, another instance may have
        // taken it and begun projecting, so we must not resurrect ours.
        const result = await db.query(
          `UPDATE ${table} SET expires_at = clock_timestamp() + $4 * interval '1 millisecond'
            WHERE name = $1 AND holder = $2 AND token = $3 AND expires_at >= clock_timestamp()`,
          [name, holder, token, ttlMs],
        );
        held = result.rowCount === 1;
      } catch {
        drop();
        held = false;
      }
      return held;
    },
    async release(): Promise<void> {
      const wasHeld = held;
      held = false;
      if (wasHeld && token !== undefined && client) {
        await client.query(`DELETE FROM ${table} WHERE name = $1 AND holder = $2 AND token = $3`, [name, holder, token]).catch(() => {
          // Unreachable: the row expires after ttlMs anyway.
        });
      }
      token = undefined;
      drop();
    },
    async fence(tx) {
      const rows =
        token === undefined
          ? []
          : await tx.sql.query(
              `SELECT 1 FROM ${table} WHERE name = $1 AND holder = $2 AND token = $3 AND expires_at >= clock_timestamp() FOR SHARE`,
              [name, holder, token],
            );
      if (rows.length === 0) {
        held = false;
        throw new LeaseLostError(name, { holder, token });
      }
    },
  };
}
