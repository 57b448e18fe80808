import pg from 'pg';
import pgUtils from 'pg/lib/utils.js';

/** The parts of pg's Connection the opening is written with and named statements are tracked on. */
interface OpeningWriter {
  parse(message: { text: string }): void;
  bind(message: { values: readonly unknown[]; valueMapper: (value: unknown) => unknown }): void;
  execute(message: { portal: string; rows: number }): void;
  stream: { cork?(): void; uncork?(): void };
  parsedStatements: Record<string, string | undefined>;
  submittedNamedStatements: Record<string, string | undefined>;
}

/** The parts of pg's Query this class builds on, which its published types leave out. */
interface QueryInternals {
  text?: string;
  values?: unknown;
  submit(connection: pg.Connection): Error | null;
  requiresPreparation(): boolean;
  handleCommandComplete(message: unknown, connection: pg.Connection): void;
  handleError(error: Error, connection: pg.Connection): void;
  handleReadyForQuery(connection: pg.Connection): void;
}

/** What the statement queue hears of the opening. */
export interface OpeningEvents {
  /** The opening statements were written: COMMIT or ROLLBACK must end the transaction. */
  written(): void;
  /** The server refused them (never in practice but with the connection): the next statement must carry them again. */
  refused(): void;
}

type Callback = (error: Error | undefined, result: pg.QueryResult) => void;

const base = pg.Query.prototype as unknown as QueryInternals;
const { prepareValue } = pgUtils;

/**
 * A transaction's first statement, carrying the statements that open the transaction (BEGIN
 * ISOLATION LEVEL READ COMMITTED, and SET LOCAL for a relaxed one): written together in one write,
 * ended by the statement's own Sync, so the server runs them in order and answers them together.
 * Sent on its own, BEGIN was a round trip of every transaction — one in four of a projector's
 * batch (issue 13) — and a transaction that ends up sending nothing now sends nothing at all.
 *
 * Only a statement pg sends with the extended protocol (one with parameters or a name) carries
 * them (`carriesOpening`): a Parse holds exactly one statement, so the opening cannot change what
 * the caller's text means, and an error in the opening makes the server skip the statement up
 * to the Sync. Everything else about the statement is pg's own Query: its rows, types, row mode
 * and callback. What the opening adds is swallowed here: its CommandCompletes, and — while they
 * are outstanding — the statement's name, which pg's Client would otherwise mark as parsed on
 * the opening's ParseComplete.
 */
export class TransactionOpeningQuery extends pg.Query {
  /** False: send it as a plain Query after the opening went on its own. */
  readonly carriesOpening: boolean;
  readonly #opening: readonly string[];
  readonly #events: OpeningEvents;
  readonly #statementName: string | undefined;
  /** Opening statements whose CommandComplete has not arrived. */
  #outstanding = 0;
  #submitting = false;
  /** This submission wrote the statement's Parse for its name (it was not prepared on the connection). */
  #parsesName = false;
  #answered = false;

  constructor(
    opening: readonly string[],
    config: string | pg.QueryConfig,
    values: unknown[] | undefined,
    callback: Callback,
    events: OpeningEvents,
  ) {
    super(config as pg.QueryConfig, values, callback as never);
    this.#opening = opening;
    this.#events = events;
    const self = this as unknown as { name?: string };
    this.#statementName = self.name;
    this.carriesOpening = base.requiresPreparation.call(this);
    // pg's Client marks `activeQuery.name` as parsed at every ParseComplete: the opening's must
    // not count for the statement's name.
    Object.defineProperty(this, 'name', {
      configurable: true,
      enumerable: true,
      get: () => (this.#outstanding > 0 && !this.#submitting ? undefined : this.#statementName),
    });
  }

  override submit = (connection: pg.Connection): Error | null => {
    const writer = connection as unknown as OpeningWriter;
    const internals = this as unknown as QueryInternals;
    const name = this.#statementName;
    // What pg's submit refuses, it refuses before writing anything: the opening is not written either.
    if (typeof internals.text !== 'string' && typeof name !== 'string') return base.submit.call(this, connection);
    if (internals.values !== undefined && internals.values !== null && !Array.isArray(internals.values))
      return base.submit.call(this, connection);
    const previous = name === undefined ? undefined : (writer.parsedStatements[name] ?? writer.submittedNamedStatements[name]);
    if (internals.text && previous !== undefined && internals.text !== previous) return base.submit.call(this, connection);
    this.#parsesName = name !== undefined && previous === undefined;
    writer.stream.cork?.();
    this.#submitting = true;
    this.#outstanding = this.#opening.length;
    try {
      for (const text of this.#opening) {
        writer.parse({ text });
        writer.bind({ values: [], valueMapper: prepareValue });
        writer.execute({ portal: '', rows: 0 });
      }
      this.#events.written();
      // Corked as well: pg's own cork nests in this one, so the lot leaves in one write.
      return base.submit.call(this, connection);
    } finally {
      this.#submitting = false;
      writer.stream.uncork?.();
    }
  };

  handleCommandComplete(message: unknown, connection: pg.Connection): void {
    if (this.#outstanding > 0) {
      this.#outstanding--;
      return;
    }
    base.handleCommandComplete.call(this, message, connection);
  }

  handleError(error: Error, connection: pg.Connection): void {
    // An error while the opening is outstanding and the statement is not being written is the
    // server refusing the opening: it skipped the statement too, Parse included.
    if (this.#outstanding > 0 && !this.#submitting) {
      this.#outstanding = 0;
      const name = this.#statementName;
      if (name !== undefined && this.#parsesName) delete (connection as unknown as OpeningWriter).submittedNamedStatements[name];
      this.#events.refused();
    }
    if (this.#answered) return;
    this.#answered = true;
    base.handleError.call(this, error, connection);
  }

  handleReadyForQuery(connection: pg.Connection): void {
    // A Bind pg could not build is answered from submit(); the server's ReadyForQuery for the
    // messages written before it must not answer the statement a second time. (pg's own answers
    // a row it could not parse through handleError, above: so the flag is set after it.)
    if (this.#answered) return;
    base.handleReadyForQuery.call(this, connection);
    this.#answered = true;
  }
}
