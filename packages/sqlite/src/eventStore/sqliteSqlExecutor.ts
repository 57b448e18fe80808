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
 *
 * The transaction belongs to whoever opened it (the store, for `tx.sql`): BEGIN, COMMIT, END and
 * ROLLBACK are refused, so SQL here can neither end the unit of work early nor leave one open.
 * SAVEPOINT, RELEASE and ROLLBACK TO stay allowed: they nest, and undo part of a unit of work.
 * 'read-only' (the store's `queries`) also refuses what changes the connection rather than the
 * data, which SQLite's own read-only flag lets through: savepoints, ATTACH, DETACH, VACUUM and
 * PRAGMAs given a value.
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
    // Before preparing: SQLite applies many PRAGMAs (foreign_keys, query_only, busy_timeout…)
    // while compiling them, even under EXPLAIN and even if the statement never runs.
    refuseConnectionControl(sql, readOnly);
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

/** PRAGMAs whose argument names what to report on (a table, an index, a row limit), not a new setting. */
const reportingPragmas = new Set([
  'TABLE_INFO',
  'TABLE_XINFO',
  'TABLE_LIST',
  'INDEX_INFO',
  'INDEX_XINFO',
  'INDEX_LIST',
  'FOREIGN_KEY_LIST',
  'FOREIGN_KEY_CHECK',
  'INTEGRITY_CHECK',
  'QUICK_CHECK',
]);

/**
 * Throws when any statement of `sql` would run transaction control (or, read-only, change the
 * connection). Judged by each statement's leading keyword: better-sqlite3 offers no authorizer,
 * and `statement.readonly` (sqlite3_stmt_readonly) is true for BEGIN, COMMIT, SAVEPOINT, ATTACH
 * and setting PRAGMAs, because none of them writes to the database file.
 */
function refuseConnectionControl(sql: string, readOnly: boolean): void {
  for (const words of sqlStatements(sql)) {
    // EXPLAIN compiles the statement it explains, and compiling is what applies a PRAGMA.
    const at = explainedAt(words);
    const head = words[at];
    const next = words[at + 1] === 'TRANSACTION' ? words[at + 2] : words[at + 1];
    const endsTransaction = head === 'BEGIN' || head === 'COMMIT' || head === 'END' || (head === 'ROLLBACK' && next !== 'TO');
    if (readOnly && (endsTransaction || changesConnection(head, words.slice(at + 1)))) {
      throw new ValidationError(
        `${head} is refused: queries run read-only SQL on committed data and must not change the read connection's transaction or settings`,
        { field: 'sql' },
      );
    }
    if (endsTransaction) {
      throw new ValidationError(
        `${head} is refused: the transaction belongs to whoever opened it (the store, inside store.transaction); SAVEPOINT and ROLLBACK TO undo part of one`,
        { field: 'sql' },
      );
    }
  }
}

function changesConnection(head: string | undefined, rest: readonly string[]): boolean {
  switch (head) {
    case 'SAVEPOINT':
    case 'RELEASE':
    case 'ROLLBACK':
    case 'ATTACH':
    case 'DETACH':
    case 'VACUUM':
      return true;
    case 'PRAGMA': {
      // PRAGMA [schema.]name, then `= value` or `(value)` when given an argument.
      const [name, argument] = rest[1] === '.' ? [rest[2], rest.slice(3)] : [rest[0], rest.slice(1)];
      return argument.length > 0 && !reportingPragmas.has(name ?? '');
    }
    default:
      return false;
  }
}

/**
 * SQLite's tokens outside whitespace and comments: keywords and bare identifiers upper-cased,
 * anything else (quoted text, numbers, parameters, punctuation) as written, so a quoted "END"
 * is never mistaken for the keyword.
 */
const sqlToken =
  /\s+|--[^\n]*|\/\*[\s\S]*?(?:\*\/|$)|'(?:[^']|'')*'?|"(?:[^"]|"")*"?|`(?:[^`]|``)*`?|\[[^\]]*\]?|[0-9][\w.]*|[$:@?][\w$]*|([A-Za-z_\u0080-\uffff][\w$\u0080-\uffff]*)|[\s\S]/g;

/**
 * The statements of a script, each as its tokens. A `;` ends a statement, except inside a
 * CREATE TRIGGER body, which only `; END ;` closes (as sqlite3_complete decides).
 */
function sqlStatements(sql: string): string[][] {
  const statements: string[][] = [];
  let current: string[] = [];
  let sinceSemicolon = 0;
  for (const [token, word] of sql.matchAll(sqlToken)) {
    if (word === undefined && (/^\s/.test(token) || token.startsWith('--') || token.startsWith('/*'))) continue;
    if (token === ';') {
      const inTriggerBody = isCreateTrigger(current) && !(sinceSemicolon === 1 && current[current.length - 1] === 'END');
      if (inTriggerBody) current.push(token);
      else if (current.length > 0) {
        statements.push(current);
        current = [];
      }
      sinceSemicolon = 0;
      continue;
    }
    current.push(word === undefined ? token : word.toUpperCase());
    sinceSemicolon++;
  }
  if (current.length > 0) statements.push(current);
  return statements;
}

/** Where the statement proper starts, after EXPLAIN or EXPLAIN QUERY PLAN. */
function explainedAt(words: readonly string[]): number {
  if (words[0] !== 'EXPLAIN') return 0;
  return words[1] === 'QUERY' && words[2] === 'PLAN' ? 3 : 1;
}

function isCreateTrigger(words: readonly string[]): boolean {
  let at = explainedAt(words);
  if (words[at] !== 'CREATE') return false;
  if (words[at + 1] === 'TEMP' || words[at + 1] === 'TEMPORARY') at++;
  return words[at + 1] === 'TRIGGER';
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
