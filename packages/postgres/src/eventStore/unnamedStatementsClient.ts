import type pg from 'pg';
import { StallDetectingClient, type StallDetectingClientConfig } from './stallDetectingClient.js';

/**
 * A pg Client that sends every statement unnamed: the `name` of a query config (which makes pg
 * prepare it once per server connection) is dropped. Behind PgBouncer in transaction mode each
 * transaction may run on a different server connection, where a named statement is either
 * missing or already taken by another client. Pass it as a pool's `Client` (the store does so
 * with `preparedStatements: false`). It detects stalls as StallDetectingClient does.
 */
export class UnnamedStatementsClient extends StallDetectingClient {
  /** Read by whoever builds a pg Query itself (transactionOpeningQuery.ts): its statements must be unnamed too. */
  readonly namesStatements = false;

  constructor(config?: string | StallDetectingClientConfig) {
    super(config);
    const query = this.query.bind(this) as (...args: unknown[]) => unknown;
    this.query = ((first: unknown, ...rest: unknown[]) => query(withoutStatementName(first), ...rest)) as typeof this.query;
  }
}

/**
 * A query config without its name. A Submittable is left as it is: it is an object with methods
 * (pg's own Query among them), not a config to copy.
 */
export function withoutStatementName<T>(config: T): T {
  if (typeof config !== 'object' || config === null || !('name' in config) || !('text' in config)) return config;
  if (typeof (config as { submit?: unknown }).submit === 'function') return config;
  const { name: _name, ...unnamed } = config as pg.QueryConfig;
  return unnamed as T;
}
