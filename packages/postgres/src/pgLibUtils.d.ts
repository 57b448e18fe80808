/**
 * pg's value serialisation for Bind messages (Date, Buffer, arrays, JSON, toPostgres): a
 * Submittable that writes its own Bind must map values exactly as pg's queries do. pg exports
 * the module (its "./lib/*" export, used by pg-cursor too) without type definitions.
 */
declare module 'pg/lib/utils.js' {
  const utils: { prepareValue(value: unknown): unknown };
  export default utils;
}

/**
 * How pg resolves a client's options (connection string, PG* environment variables, defaults)
 * into the host and port it connects to: the server a connection failure names
 * (serverUnreachable.ts). The same "./lib/*" export, without type definitions either.
 */
declare module 'pg/lib/connection-parameters.js' {
  import type pg from 'pg';

  export default class ConnectionParameters {
    constructor(config?: string | pg.ClientConfig);
    readonly host: string | undefined;
    readonly port: number;
  }
}
