import { RebuildRefusedError, type TableSwap, ValidationError } from '@tidemark/core';
import type { PostgresTransaction } from '../eventStore/postgresTransaction.js';

export interface PostgresTableSwapOptions {
  /**
   * How long the swap waits for its exclusive table locks before giving up and letting the
   * rebuild retry. Short, because while the swap queues for the lock behind a long report,
   * every new reader of the table queues behind the swap. Default 500 ms.
   */
  lockTimeoutMs?: number;
}

const policyCommands: Record<string, string> = { r: 'SELECT', a: 'INSERT', w: 'UPDATE', d: 'DELETE', '*': 'ALL' };

// Read-model table names are plain (optionally schema-qualified) identifiers, used unquoted.
const bareName = (table: string) => table.slice(table.lastIndexOf('.') + 1);

/**
 * The PostgreSQL swap of a rebuild. Refuses up front what it cannot carry over — views (plain or
 * materialized) on a live table and foreign keys into it from other tables — so a rebuild fails
 * before the replay, not after it. Carries over what it can: the live table's grants, its
 * row-level-security switches and its policies. Takes the exclusive locks under a short
 * lock_timeout, so behind a long report the swap transaction fails transiently and the rebuild
 * retries it, instead of queueing with every reader of the table queued behind it.
 * Column-level grants, ownership, comments and triggers are not carried over.
 */
export function createPostgresTableSwap(options: PostgresTableSwapOptions = {}): TableSwap<PostgresTransaction> {
  const lockTimeoutMs = options.lockTimeoutMs ?? 500;
  if (!Number.isSafeInteger(lockTimeoutMs) || lockTimeoutMs < 1) {
    throw new ValidationError('lockTimeoutMs must be a whole number ≥ 1', { field: 'lockTimeoutMs' });
  }

  async function oid(tx: PostgresTransaction, table: string): Promise<number | undefined> {
    const rows = await tx.sql.query<{ oid: number | null }>('SELECT to_regclass($1)::oid::int8 AS oid', [table]);
    const found = rows[0]?.oid;
    return found === null || found === undefined ? undefined : Number(found);
  }

  /** Views and foreign keys of other tables on `table`: DROP TABLE would fail on them (or drop them with CASCADE). */
  async function refuseDependents(tx: PostgresTransaction, live: readonly string[]): Promise<void> {
    const liveOids = new Set<number>();
    for (const table of live) {
      const found = await oid(tx, table);
      if (found !== undefined) liveOids.add(found);
    }
    for (const table of live) {
      const tableOid = await oid(tx, table);
      if (tableOid === undefined) continue;
      const dependents = await tx.sql.query<{ name: string; kind: string; owner: number }>(
        `SELECT DISTINCT v.oid::regclass::text AS name, CASE v.relkind WHEN 'm' THEN 'materialized view' ELSE 'view' END AS kind, v.oid::int8 AS owner
           FROM pg_depend d JOIN pg_rewrite r ON r.oid = d.objid JOIN pg_class v ON v.oid = r.ev_class
          WHERE d.classid = 'pg_rewrite'::regclass AND d.refobjid = $1 AND v.oid <> $1
         UNION
         SELECT DISTINCT c.conrelid::regclass::text, 'foreign key ' || c.conname, c.conrelid::int8
           FROM pg_constraint c WHERE c.contype = 'f' AND c.confrelid = $1 AND c.conrelid <> $1`,
        [tableOid],
      );
      // A foreign key between two tables rebuilt together goes with them.
      const blocking = dependents.filter((d) => !liveOids.has(Number(d.owner)));
      if (blocking.length > 0) {
        const names = blocking.map((d) => `${d.kind} ${d.name}`);
        throw new RebuildRefusedError(
          `Cannot rebuild table ${table}: ${names.join(', ')} depend${blocking.length === 1 ? 's' : ''} on it and would be lost by the swap; drop ${blocking.length === 1 ? 'it' : 'them'} first and recreate after the rebuild`,
          { table, dependents: blocking.map((d) => ({ name: d.name, kind: d.kind })) },
        );
      }
    }
  }

  /** Grants, row-level security and policies of the live table, given to the shadow before it takes its place. */
  async function carryOver(tx: PostgresTransaction, liveOid: number, shadow: string): Promise<void> {
    const grants = await tx.sql.query<{ grantee: string; privilege: string; grantable: boolean }>(
      `SELECT CASE WHEN a.grantee = 0 THEN 'PUBLIC' ELSE quote_ident(r.rolname) END AS grantee, a.privilege_type AS privilege, a.is_grantable AS grantable
         FROM pg_class c, aclexplode(c.relacl) a LEFT JOIN pg_roles r ON r.oid = a.grantee
        WHERE c.oid = $1`,
      [liveOid],
    );
    for (const grant of grants) {
      await tx.sql.execute(`GRANT ${grant.privilege} ON ${shadow} TO ${grant.grantee}${grant.grantable ? ' WITH GRANT OPTION' : ''}`);
    }
    const [security] = await tx.sql.query<{ enabled: boolean; forced: boolean }>(
      'SELECT relrowsecurity AS enabled, relforcerowsecurity AS forced FROM pg_class WHERE oid = $1',
      [liveOid],
    );
    if (security?.enabled) await tx.sql.execute(`ALTER TABLE ${shadow} ENABLE ROW LEVEL SECURITY`);
    if (security?.forced) await tx.sql.execute(`ALTER TABLE ${shadow} FORCE ROW LEVEL SECURITY`);
    const policies = await tx.sql.query<{
      name: string;
      permissive: boolean;
      cmd: string;
      roles: string[];
      qual: string | null;
      check: string | null;
    }>(
      `SELECT quote_ident(p.polname) AS name, p.polpermissive AS permissive, p.polcmd AS cmd,
              ARRAY(SELECT CASE WHEN role = 0 THEN 'PUBLIC' ELSE quote_ident(r.rolname) END
                      FROM unnest(p.polroles) role LEFT JOIN pg_roles r ON r.oid = role) AS roles,
              pg_get_expr(p.polqual, p.polrelid) AS qual, pg_get_expr(p.polwithcheck, p.polrelid) AS check
         FROM pg_policy p WHERE p.polrelid = $1`,
      [liveOid],
    );
    for (const policy of policies) {
      await tx.sql.execute(
        `CREATE POLICY ${policy.name} ON ${shadow} AS ${policy.permissive ? 'PERMISSIVE' : 'RESTRICTIVE'}
           FOR ${policyCommands[policy.cmd] ?? 'ALL'} TO ${policy.roles.join(', ')}
           ${policy.qual === null ? '' : `USING (${policy.qual})`} ${policy.check === null ? '' : `WITH CHECK (${policy.check})`}`,
      );
    }
  }

  return {
    check: async (live, tx) => refuseDependents(tx, live),

    async swap(live, suffix, tx) {
      // Every lock below, the DROP's and the RENAME's included, gives up after lockTimeoutMs.
      await tx.sql.execute(`SET LOCAL lock_timeout = ${lockTimeoutMs}`);
      const existing: string[] = [];
      for (const table of live) if ((await oid(tx, table)) !== undefined) existing.push(table);
      await tx.sql.execute(`LOCK TABLE ${[...existing, ...live.map((table) => `${table}${suffix}`)].join(', ')} IN ACCESS EXCLUSIVE MODE`);
      // Again under the lock: a view created during the replay must not be dropped (nor fail the DROP).
      await refuseDependents(tx, live);
      for (const table of live) {
        const shadow = `${table}${suffix}`;
        const liveOid = await oid(tx, table);
        if (liveOid !== undefined) await carryOver(tx, liveOid, shadow);
        await tx.sql.execute(`DROP TABLE IF EXISTS ${table}`);
        await tx.sql.execute(`ALTER TABLE ${shadow} RENAME TO ${bareName(table)}`);
        // Index (and primary-key constraint) names are per schema: give the live names back.
        const indexes = await tx.sql.query<{ name: string; qualified: string }>(
          `SELECT c.relname AS name, c.oid::regclass::text AS qualified FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
            WHERE i.indrelid = to_regclass($1)`,
          [table],
        );
        for (const { name, qualified } of indexes) {
          if (name.includes(suffix)) await tx.sql.execute(`ALTER INDEX ${qualified} RENAME TO ${name.replace(suffix, '')}`);
        }
      }
    },

    async drop(physical, tx) {
      for (const table of physical) await tx.sql.execute(`DROP TABLE IF EXISTS ${table}`);
    },
  };
}
