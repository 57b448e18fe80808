import type pg from 'pg';
import pgUtils from 'pg/lib/utils.js';

/** What pg's connection hands a query for a RowDescription message. */
interface RowDescriptionMessage {
  fields: ReadonlyArray<{ name: string; dataTypeID: number }>;
}

/** What it hands for a DataRow: each field as text, or null. */
interface DataRowMessage {
  fields: ReadonlyArray<string | null>;
}

/** What it hands for a CommandComplete: the command tag, e.g. "SELECT 3" or "SET". */
interface CommandCompleteMessage {
  text: string;
}

/** The methods of pg's Connection a Submittable writes with (pg-cursor uses the same). */
interface ProtocolWriter {
  parse(message: { text: string; name?: string; types?: readonly number[] }): void;
  bind(message: { values: readonly unknown[]; valueMapper: (value: unknown) => unknown }): void;
  describe(message: { type: 'P'; name: string }): void;
  execute(message: { portal: string; rows: number }): void;
  sync(): void;
  sendCopyFail(reason: string): void;
  stream: { cork?(): void; uncork?(): void };
}

/** Where the statement's type parsers come from: the client, so a pool's `types` apply as to client.query. */
export interface TypeParserSource {
  getTypeParser(oid: number, format: 'text'): (value: string) => unknown;
}

export interface ReadOnlyStatementResult<Row> {
  /** The first word of the statement's command tag ("SELECT", "SET", …). */
  command: string;
  rows: Row[];
}

/** The statements of the batch, in the order the server answers them: BEGIN, the caller's, ROLLBACK, the unlock. */
const statement = 1;
const statements = 4;

const { prepareValue } = pgUtils;

/**
 * One read-only statement in ONE round trip, as a pg Submittable: BEGIN READ ONLY, the statement,
 * ROLLBACK and `pg_advisory_unlock_all()` are written together, ended by a single Sync, and the
 * server answers them in order. Three round trips did the same one after another (issue 13: on
 * the PostgreSQL shop, read-model queries were half of the statements sent).
 *
 * What the server does with the batch is what it did with the three round trips:
 * - the statement runs inside the READ ONLY transaction, and the ROLLBACK undoes whatever it did
 *   to the session (set_config, SET LOCAL); a session advisory lock, which survives a rollback,
 *   is released by the unlock;
 * - the extended protocol takes exactly one statement per Parse, so the caller's text cannot
 *   smuggle a second one;
 * - if the statement fails, the server skips everything up to the Sync, so the ROLLBACK and the
 *   unlock did NOT run: the transaction is left aborted, and the caller must end it (queryPooled
 *   does, with the same ROLLBACK and unlock as one simple query). pg reports the error as soon as
 *   it arrives, before the server's ReadyForQuery, so the client's transaction status is not yet
 *   current then: the caller ends the transaction whatever that status says.
 *
 * Rows are parsed as pg parses a query's: text format, the client's type parsers, an object per
 * row keyed by column name (a repeated name keeps the last column, as in pg).
 */
export class ReadOnlyStatementQuery<Row extends Record<string, unknown>> implements pg.Submittable {
  /** Set by `run`, called by pg's client as the server answers. */
  callback: (error: Error | null, result?: ReadOnlyStatementResult<Row>) => void = () => {};
  readonly #text: string;
  readonly #values: readonly unknown[];
  readonly #types: TypeParserSource;
  /** Which statement the next CommandComplete (or EmptyQueryResponse) ends. */
  #answering = 0;
  #names: string[] = [];
  #parsers: Array<(value: string) => unknown> = [];
  readonly #rows: Row[] = [];
  #command = '';
  /** A row a type parser could not read: reported once the server is ready again, as pg does. */
  #failure: Error | undefined;

  constructor(text: string, values: readonly unknown[], types: TypeParserSource) {
    this.#text = text;
    this.#values = values;
    this.#types = types;
  }

  /** Sends the batch on `client`; settles once the server answered all of it, or at its first error. */
  run(client: pg.PoolClient): Promise<ReadOnlyStatementResult<Row>> {
    return new Promise((resolve, reject) => {
      this.callback = (error, result) => {
        if (error) reject(error);
        else resolve(result as ReadOnlyStatementResult<Row>);
      };
      client.query(this);
    });
  }

  /**
   * The caller's statement completed: an error reported now is the ROLLBACK's or the unlock's, so
   * a session lock the statement took may still be held.
   */
  get statementDone(): boolean {
    return this.#answering > statement;
  }

  submit(connection: pg.Connection): void {
    const writer = connection as unknown as ProtocolWriter;
    // One write for the lot, as pg corks a query's own messages.
    writer.stream.cork?.();
    try {
      writer.parse({ text: 'BEGIN READ ONLY' });
      writer.bind({ values: [], valueMapper: prepareValue });
      writer.execute({ portal: '', rows: 0 });
      writer.parse({ text: this.#text });
      writer.bind({ values: this.#values, valueMapper: prepareValue });
      writer.describe({ type: 'P', name: '' });
      writer.execute({ portal: '', rows: 0 });
      writer.parse({ text: 'ROLLBACK' });
      writer.bind({ values: [], valueMapper: prepareValue });
      writer.execute({ portal: '', rows: 0 });
      writer.parse({ text: 'SELECT pg_advisory_unlock_all()' });
      writer.bind({ values: [], valueMapper: prepareValue });
      writer.execute({ portal: '', rows: 0 });
      writer.sync();
    } finally {
      writer.stream.uncork?.();
    }
  }

  handleRowDescription(message: RowDescriptionMessage): void {
    // Only the caller's statement is described (Describe is sent for its portal alone).
    this.#names = message.fields.map((field) => field.name);
    this.#parsers = message.fields.map((field) => this.#types.getTypeParser(field.dataTypeID, 'text'));
  }

  handleDataRow(message: DataRowMessage): void {
    // The unlock's row arrives too; only the statement's are the caller's.
    if (this.#answering !== statement || this.#failure) return;
    try {
      const row: Record<string, unknown> = {};
      for (let i = 0; i < message.fields.length; i++) {
        const raw = message.fields[i];
        row[this.#names[i] as string] = raw === null || raw === undefined ? null : (this.#parsers[i] as (value: string) => unknown)(raw);
      }
      this.#rows.push(row as Row);
    } catch (error) {
      this.#failure = error instanceof Error ? error : new Error(String(error));
    }
  }

  handleCommandComplete(message: CommandCompleteMessage): void {
    if (this.#answering === statement) this.#command = message.text.split(' ', 1)[0] ?? '';
    this.#answering++;
  }

  /** An empty statement text: the server answers with EmptyQueryResponse instead of CommandComplete. */
  handleEmptyQuery(): void {
    this.#answering++;
  }

  handlePortalSuspended(): void {
    // Never: every Execute asks for all rows.
  }

  /** COPY … FROM STDIN: there is no data to send (and a READ ONLY transaction refuses it anyway). */
  handleCopyInResponse(connection: pg.Connection): void {
    (connection as unknown as ProtocolWriter).sendCopyFail('queries run read-only SQL: COPY FROM is refused');
  }

  handleCopyData(): void {
    // COPY … TO STDOUT: pg's own query ignores the data too.
  }

  handleError(error: Error): void {
    this.callback(error);
  }

  handleReadyForQuery(): void {
    if (this.#failure) {
      this.callback(this.#failure);
      return;
    }
    if (this.#answering < statements) {
      // Cannot happen without an error (which pg reports through handleError instead).
      this.callback(new Error(`the server answered ${this.#answering} of ${statements} statements of a read-only query`));
      return;
    }
    this.callback(null, { command: this.#command, rows: this.#rows });
  }
}
