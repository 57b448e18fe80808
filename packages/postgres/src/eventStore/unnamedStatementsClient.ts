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
  constructor(config?: string | StallDetectingClientConfig) {
    super(config);
    const query = this.query.bind(this) as (...args: unknown[]) => unknown;
    this.query = ((first: unknown, ...rest: unknown[]) => {
      if (typeof first === 'object' && first !== null && 'name' in first && 'text' in first) {
        const { name: _name, ...unnamed } = first as pg.QueryConfig;
        return query(unnamed, ...rest);
      }
      return query(first, ...rest);
    }) as typeof this.query;
  }
}
