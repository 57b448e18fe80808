import { type SqlExecutor, ValidationError } from '@tidemark/core';
import type { Database, Statement } from 'better-sqlite3';
import { rewritePlaceholders } from './rewritePlaceholders.js';

interface CachedStatement {
  statement: Statement;
  parameterOrder: readonly number[];
}

/** Read models, outboxes and checkpoints run the same statements over and over: keep them prepared. */
const cacheLimit = 256;

/**
 * The dialect-neutral SqlExecutor on a better-sqlite3 connection. Values are converted to what
 * SQLite can bind the way `pg` would send them: booleans as 1/0, Dates as ISO-8601 text,
 * plain objects and arrays as JSON, undefined as NULL.
 */
export function createSqliteSqlExecutor(
  db: Database,
  assertUsable: () => void = () => {},
  access: 'read-write' | 'read-only' = 'read-write',
): SqlExecutor {
  const cache = new Map<string, CachedStatement>();
  const readOnly = access === 'read-only';

  function prepared(sql: string): CachedStatement | undefined {
    const hit = cache.get(sql);
    if (hit) {
      // Re-insert: Map keeps insertion order, so the first key is the least recently used.
      cache.delete(sql);
      cache.set(sql, hit);
      return hit;
    }
    const rewritten = rewritePlaceholders(sql);
    let statement: Statement;
    try {
      statement = db.prepare(rewritten.sql);
    } catch (error) {
      // Several statements (a read model's DDL script, say) cannot be prepared; run them with exec.
      if (error instanceof RangeError && rewritten.parameterOrder.length === 0 && /more than one statement/.test(error.message)) {
        return undefined;
      }
      throw error;
    }
    const entry = { statement, parameterOrder: rewritten.parameterOrder };
    cache.set(sql, entry);
    if (cache.size > cacheLimit) cache.delete(cache.keys().next().value as string);
    return entry;
  }

  function bind(entry: CachedStatement, params: readonly unknown[]): unknown[] {
    return entry.parameterOrder.map((index) => {
      if (index >= params.length) throw new RangeError(`The SQL uses $${index + 1} but only ${params.length} parameter(s) were given`);
      return toSqliteValue(params[index]);
    });
  }

  return {
    async query<Row extends Record<string, unknown> = Record<string, unknown>>(sql: string, params: readonly unknown[] = []) {
      assertUsable();
      const entry = prepared(sql);
      // The store's queries outside a transaction: on ':memory:' they share the writer connection.
      if (readOnly && !entry?.statement.readonly) {
        throw new ValidationError('Only a single read-only statement may run outside a transaction: write inside store.transaction', {
          field: 'sql',
        });
      }
      if (!entry) {
        db.exec(sql);
        return [];
      }
      const values = bind(entry, params);
      if (!entry.statement.reader) {
        entry.statement.run(...values);
        return [];
      }
      return entry.statement.all(...values) as Row[];
    },
    async execute(sql: string, params: readonly unknown[] = []) {
      assertUsable();
      const entry = prepared(sql);
      if (!entry) {
        db.exec(sql);
        return 0;
      }
      return entry.statement.run(...bind(entry, params)).changes;
    },
  };
}

function toSqliteValue(value: unknown): unknown {
  if (value === undefined || value === null) return null;
  switch (typeof value) {
    case 'boolean':
      return value ? 1 : 0;
    case 'object':
      if (value instanceof Date) return value.toISOString();
      if (Buffer.isBuffer(value) || value instanceof Uint8Array) return value;
      return JSON.stringify(value);
    default:
      return value;
  }
}
