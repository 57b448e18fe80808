import type { Database } from 'better-sqlite3';

/**
 * A table's statements, prepared once per connection and kept for every later transaction on
 * it (preparing is most of a small statement's cost). Keyed weakly: a closed store's
 * connection takes its statements with it.
 */
export function preparedPerConnection<Statements>(prepare: (db: Database) => Statements): (tx: { db: Database }) => Statements {
  const prepared = new WeakMap<Database, Statements>();
  return (tx) => {
    let found = prepared.get(tx.db);
    if (!found) {
      found = prepare(tx.db);
      prepared.set(tx.db, found);
    }
    return found;
  };
}
