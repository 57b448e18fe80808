import { type AppendTurns, ConnectionLostError, createAppendTurns, TransactionConflictError } from '@tidemark/core';
import pg from 'pg';
import { endedIdle, isConnectionFailure, toTypedError, type WatchedClient } from './connectionErrors.js';
import type { Queryable } from './queryable.js';
import { TransactionOpeningQuery } from './transactionOpeningQuery.js';
import { withoutStatementName } from './unnamedStatementsClient.js';

/**
 * Every statement of one transaction, sent one at a time in the order it was issued. A
 * transaction's operations may be called concurrently (`Promise.all([tx.sql.query(a),
 * tx.appendToStream(…)])`), but its connection runs one statement at a time: pg 8 queues a
 * statement issued while another runs, with a deprecation warning, and pg 9 refuses it.
 */
export interface StatementQueue extends Queryable {
  /** The client as `tx.client` shows it: its query() goes through this queue. */
  readonly client: pg.PoolClient;
  /** Resolves once every statement issued so far has settled. */
  settled(): Promise<void>;
  /**
   * The server's error that aborted the transaction, while it is aborted: that of the first
   * statement to fail since the last one that succeeded (after an abort only a ROLLBACK TO
   * SAVEPOINT succeeds, and it heals the transaction).
   */
  abortedBy(): Error | undefined;
  /** Whether the transaction's opening statements were sent: if not, there is nothing on the server to commit or roll back. */
  opened(): boolean;
}

interface Waiting {
  config: string | pg.QueryConfig;
  values: unknown[] | undefined;
  resolve(result: Promise<pg.QueryResult>): void;
  reject(error: unknown): void;
}

type CallbackQueryAnswer = (error: Error | undefined, result: pg.QueryResult) => void;
/** pg's callback form, which takes a query config with values too (its types say only text). */
interface CallbackQuery {
  query(config: string | pg.QueryConfig, values: unknown[] | undefined, callback: CallbackQueryAnswer): void;
}

const alreadySettled = Promise.resolve();

/** SQLSTATE in_failed_sql_transaction: what the server answers a statement after a failure, until a rollback. */
const inFailedTransaction = '25P02';

/** As pg does for its own promises: the stack then leads back to the statement's caller, not to the socket's read. */
const restack = (error: unknown): never => {
  if (error instanceof Error) Error.captureStackTrace(error);
  throw error;
};

/**
 * A lone caller (the usual case: `await` one statement after another) goes straight to the
 * client. It allocates what pg's promise form would (a promise, its callback, the restack), and
 * nothing more: the queue learns that the statement ended from that callback. Only a statement
 * issued while another runs waits in the queue. `assertUsable` runs first for every statement:
 * once the transaction has ended nothing more is sent on its client, which is back in the pool.
 *
 * Before all that, a statement takes its turn among the transaction's hooked appends (`turns`): one
 * issued beside a hooked append in flight — not by it or its hooks — waits until that append
 * has released or rolled back to its savepoint, so the rollback cannot undo it.
 *
 * `opening` (BEGIN …) is sent with the first statement, in the same write when it can be
 * (transactionOpeningQuery.ts): until then nothing of the transaction is on the server.
 */
export function createStatementQueue(
  client: pg.PoolClient,
  connection: WatchedClient,
  assertUsable: () => void,
  turns: AppendTurns = createAppendTurns(),
  opening: readonly string[] = [],
): StatementQueue {
  let running = false;
  /** The opening is still to be sent: the next statement carries it (transactionOpeningQuery.ts). */
  let unopened = opening.length > 0;
  let opened = false;
  const openingEvents = {
    written() {
      unopened = false;
      opened = true;
    },
    refused() {
      unopened = true;
    },
  };
  const waiting: Array<Waiting | undefined> = [];
  let head = 0;
  let idle: { promise: Promise<void>; resolve(): void } | undefined;
  let abortedBy: Error | undefined;

  function send(config: string | pg.QueryConfig, values: unknown[] | undefined): Promise<pg.QueryResult> {
    running = true;
    return new Promise((resolve, reject) => {
      try {
        const answer = (error: Error | undefined, result: pg.QueryResult) => {
          if (error) {
            const earlier = abortedBy;
            if (error instanceof pg.DatabaseError) abortedBy ??= error;
            failed(error);
            // The server refused it for an earlier failure the work caught and went on from (a
            // snapshot load that timed out, say): typed as that failure, so a retry runs again
            // what a deadlock or a timeout ended, not a 25P02 no retry policy knows.
            reject(
              earlier !== undefined && (error as { code?: unknown }).code === inFailedTransaction
                ? notSent(earlier, connection.lost, 'Refused')
                : error,
            );
          } else {
            abortedBy = undefined;
            next();
            resolve(result);
          }
        };
        if (unopened) openWith(config, values, answer);
        else (client as CallbackQuery).query(config, values, answer);
      } catch (error) {
        // pg throws for a missing query text. The next statement still gets its turn, from a
        // microtask: a run of such statements must not recurse through next() and send().
        queueMicrotask(next);
        reject(error);
      }
    });
  }

  /** Sends the statement with the transaction's opening ahead of it: in the same write when pg sends it with the extended protocol. */
  function openWith(config: string | pg.QueryConfig, values: unknown[] | undefined, answer: CallbackQueryAnswer): void {
    if (typeof (config as { submit?: unknown }).submit !== 'function') {
      const statement = (client as { namesStatements?: boolean }).namesStatements === false ? withoutStatementName(config) : config;
      const query = new TransactionOpeningQuery(opening, statement, values, answer, openingEvents);
      if (query.carriesOpening) {
        client.query(query);
        return;
      }
    }
    // A Submittable (the fold's COPY) writes its own messages, and a simple-protocol statement (no
    // parameters) may hold several: the opening goes first, on its own.
    sendOpening((error) => {
      if (error) answer(error, undefined as never);
      else (client as CallbackQuery).query(config, values, answer);
    });
  }

  /** The opening alone, one round trip; a failure leaves it to be sent again. */
  function sendOpening(then: (error: Error | undefined) => void): void {
    openingEvents.written();
    (client as CallbackQuery).query(opening.join('; '), undefined, (error) => {
      if (error) openingEvents.refused();
      then(error);
    });
  }

  function failed(error: Error): void {
    // An error from the server (or a dead connection) has aborted the transaction: PostgreSQL
    // would answer every waiting statement 25P02 until a ROLLBACK (TO SAVEPOINT), so they are
    // not sent and say why. Statements issued from now on are sent: one of them may be that rollback.
    if (head < waiting.length && (error instanceof pg.DatabaseError || isConnectionFailure(error))) {
      connection.check(error);
      const lost = connection.lost;
      const dropped = waiting.slice(head) as Waiting[];
      waiting.length = head;
      // After the failure has reached its own caller, so that a Promise.all over these statements
      // rejects with the failure, not with one of its echoes. The failure travels through promise
      // reactions; a tick queued from one runs once they have all run. Not a timer, which fake
      // timers in a test would hold back forever.
      queueMicrotask(() =>
        process.nextTick(() => {
          for (const item of dropped) item.reject(notSent(error, lost));
        }),
      );
    }
    next();
  }

  function next(): void {
    if (head < waiting.length) {
      const item = waiting[head] as Waiting;
      waiting[head++] = undefined;
      item.resolve(send(item.config, item.values));
      return;
    }
    if (head > 0) {
      waiting.length = 0;
      head = 0;
    }
    running = false;
    if (idle) {
      idle.resolve();
      idle = undefined;
    }
  }

  function query(config: string | pg.QueryConfig, values?: unknown[]): Promise<pg.QueryResult> {
    return turns.call(() => issue(config, values));
  }

  function issue(config: string | pg.QueryConfig, values: unknown[] | undefined): Promise<pg.QueryResult> {
    try {
      assertUsable();
    } catch (error) {
      return Promise.reject(error);
    }
    const result = running
      ? new Promise<pg.QueryResult>((resolve, reject) => {
          waiting.push({ config, values, resolve, reject });
        })
      : send(config, values);
    return result.catch(restack);
  }

  // pg's callback form too; a Submittable (pg-cursor, pg-query-stream) goes to the client as it
  // is: nothing tells when it has finished, so it cannot hold the queue.
  function clientQuery(config: unknown, values?: unknown, callback?: unknown): unknown {
    if (typeof (config as { submit?: unknown } | null)?.submit === 'function') {
      assertUsable();
      // pg queues it behind the opening, which is not awaited: a Submittable is returned as it is.
      if (unopened) sendOpening(() => {});
      return client.query(config as pg.Submittable);
    }
    if (typeof values === 'function') {
      callback = values;
      values = undefined;
    }
    const result = query(config as string | pg.QueryConfig, values as unknown[] | undefined);
    if (typeof callback !== 'function') return result;
    result.then(
      (answer) => callback(null, answer),
      (error: unknown) => callback(error),
    );
    return undefined;
  }

  const facade = new Proxy(client, {
    get(target, property) {
      if (property === 'query') return clientQuery;
      const value: unknown = Reflect.get(target, property);
      // Bound to the client itself: its methods keep their own (private) state.
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });

  return {
    query: query as Queryable['query'],
    client: facade,
    abortedBy: () => abortedBy,
    opened: () => opened,
    settled() {
      if (!running) return alreadySettled;
      if (!idle) {
        let resolve = () => {};
        const promise = new Promise<void>((settle) => {
          resolve = settle;
        });
        idle = { promise, resolve };
      }
      return idle.promise;
    },
  };
}

/**
 * What a statement waiting behind a failed one rejects with: it was never sent (or, `what`
 * 'Refused', the server refused it for that failure). A deadlock, a
 * serialization failure or a lost connection ended the whole transaction, and the error has that
 * type, so the unit of work is retried whichever of the concurrent errors reaches it first.
 * Otherwise it carries SQLSTATE 25P02 (in_failed_sql_transaction), the server's own answer.
 */
function notSent(failure: unknown, lost: Error | undefined, what = 'Not sent'): Error {
  const message = `${what}: an earlier statement of this transaction failed (${failure instanceof Error ? failure.message : String(failure)})`;
  const typed = toTypedError(failure, lost);
  if (typed instanceof TransactionConflictError) return new TransactionConflictError(message, typed.details, { cause: failure });
  if (typed instanceof ConnectionLostError) return new ConnectionLostError(message, {}, { cause: failure });
  // The session ended for idling in the transaction (25P03): that error, not a retryable loss.
  if (endedIdle(failure) || endedIdle(lost)) return typed as Error;
  return Object.assign(
    new Error(`${message}, and PostgreSQL ignores every statement after a failure until the transaction or savepoint rolls back`, {
      cause: failure,
    }),
    { code: inFailedTransaction },
  );
}
