import {
  type EventPipeline,
  type EventStore,
  type HeadPositionOptions,
  isPromiseLike,
  type LogPage,
  logPage,
  type ReadPageOptions,
  type RecordedEvent,
  resolveAllRange,
} from '@tidemark/core';
import type pg from 'pg';
import { toTypedError } from './connectionErrors.js';
import { eventTypes, parsePackedEvent, toRecordedEvent } from './eventRows.js';
import type { OwnWrites } from './ownWrites.js';
import { type ReadAllFilter, readAllStatement, readPageStatement } from './readAllStatement.js';
import { readableHorizonSql } from './readableHorizon.js';
import { timeoutNamingPool } from './timeoutNamingPool.js';

export type PostgresLogReads = Pick<EventStore, 'readAll' | 'headPosition'> & Required<Pick<EventStore, 'readPage'>>;

export interface PostgresLogReadsOptions {
  pool: pg.Pool;
  quotedSchema: string;
  statementName: string;
  pipeline: EventPipeline;
  ownWrites: OwnWrites;
  assertOpen(): void;
  /** The store's accepted calls (acceptedCalls.ts): close() waits for readPage and headPosition under way… */
  accept<T>(operation: () => Promise<T>): Promise<T>;
  /** …and for a readAll's page being fetched (the events of a page already read need nothing more). */
  track<T>(running: Promise<T>): Promise<T>;
}

const rethrowTyped = (error: unknown): never => {
  throw toTypedError(error);
};

/**
 * Reads of the whole log: readAll, readPage and the head, all bounded by the readable horizon
 * (readableHorizon.ts) so that no reader ever skips an event. With `readYourWrites` (the
 * default) they first wait, bounded, for this instance's own commits to become readable; a
 * reader that is woken again anyway (a subscription) passes false.
 */
export function createPostgresLogReads(options: PostgresLogReadsOptions): PostgresLogReads {
  const { quotedSchema, statementName, pipeline, ownWrites, assertOpen, accept, track } = options;
  // Each statement on a connection of the pool, a statement_timeout named with its value.
  const pool = timeoutNamingPool(options.pool);
  const horizon = readableHorizonSql(quotedSchema);
  const headQuery = {
    name: `${statementName}:head`,
    text: `SELECT coalesce(max(position), 0)::text AS head, (${horizon})::text AS horizon
             FROM ${quotedSchema}.events WHERE position < ${horizon}`,
    types: eventTypes,
  };

  /** Deduplicated: each value is its own index range scan, and a repeated one would deliver its events twice. */
  const filterOf = (range: ReturnType<typeof resolveAllRange>): ReadAllFilter => ({
    types: range.types && [...new Set(pipeline.storedTypes(range.types))],
    categories: range.categories && [...new Set(range.categories)],
  });

  async function headPosition(headOptions?: HeadPositionOptions): Promise<bigint> {
    assertOpen();
    // The head and the horizon come from one statement (one snapshot): when the horizon has
    // already passed this instance's own commits, that one round trip is the whole answer.
    const target = ownWrites.latest();
    const readHead = async () => {
      const result = await pool.query<{ head: string; horizon: string }>(headQuery).catch(rethrowTyped);
      // An aggregate without GROUP BY: always exactly one row.
      const row = result.rows[0] as { head: string; horizon: string };
      ownWrites.sawHorizon(BigInt(row.horizon));
      return BigInt(row.head);
    };
    const head = await readHead();
    if (ownWrites.readable(target)) return head;
    if (headOptions?.readYourWrites === false) {
      ownWrites.notAwaited();
      return head;
    }
    await ownWrites.awaitReadable(target);
    return readHead();
  }

  async function readPage(pageOptions: ReadPageOptions): Promise<LogPage> {
    assertOpen();
    const range = resolveAllRange(pageOptions);
    if (range.types?.length === 0 || range.categories?.length === 0) {
      // Matches nothing: the head alone says how far the reader has seen.
      const head = await headPosition(pageOptions);
      return { events: [], head, reachedHead: true, seenUpTo: head };
    }
    const target = ownWrites.latest();
    if (target > range.after && pageOptions.readYourWrites !== false) await ownWrites.awaitReadable(target);
    const statement = readPageStatement(quotedSchema, statementName, filterOf(range));
    const result = await pool
      .query({
        name: statement.name,
        text: statement.text,
        values: statement.values(range.after, range.limit),
        rowMode: 'array',
        types: eventTypes,
      })
      .catch(rethrowTyped);
    const rows = result.rows as Array<[string, string, string | null]>;
    const [head, seenHorizon] = rows[0] as [string, string, string | null];
    ownWrites.sawHorizon(BigInt(seenHorizon));
    if (pageOptions.readYourWrites === false) ownWrites.notAwaited();
    const read = rows[0]?.[2] === null ? [] : rows.map((row) => parsePackedEvent(row[2] as string));
    const last = read.length > 0 ? (read[read.length - 1] as RecordedEvent).position : 0n;
    const staged = pipeline.reads ? pipeline.readPage(read, range.types) : read;
    return logPage(isPromiseLike(staged) ? await staged : staged, read.length, range.limit, BigInt(head), last);
  }

  return {
    // Accepted (close() waits for them; later ones are refused): each may wait for its own
    // writes to become readable or for a free connection before it uses the pool.
    headPosition: (headOptions) => accept(() => headPosition(headOptions)),
    readPage: (pageOptions) => accept(() => readPage(pageOptions)),

    async *readAll(readOptions): AsyncGenerator<RecordedEvent> {
      assertOpen();
      const range = resolveAllRange(readOptions);
      if (ownWrites.latest() > range.after && readOptions?.readYourWrites !== false) await track(ownWrites.awaitReadable());
      // An empty filter list matches nothing, as in the other stores.
      if (range.types?.length === 0 || range.categories?.length === 0) return;
      const statement = readAllStatement(quotedSchema, statementName, filterOf(range));
      let after = range.after;
      let remaining = range.limit;
      while (remaining > 0) {
        assertOpen();
        const batch = Math.min(range.batchSize, remaining);
        const result = await track(
          pool
            .query({
              name: statement.name,
              text: statement.text,
              values: statement.values(after, batch),
              rowMode: 'array',
              types: eventTypes,
            })
            .catch(rethrowTyped),
        );
        if (pipeline.reads) {
          const events = result.rows.map((row) => toRecordedEvent(row));
          if (events.length > 0) after = (events[events.length - 1] as RecordedEvent).position;
          remaining -= events.length;
          const page = pipeline.readPage(events, range.types);
          yield* isPromiseLike(page) ? await track(Promise.resolve(page)) : page;
        } else {
          for (const row of result.rows) {
            const event = toRecordedEvent(row);
            after = event.position;
            remaining--;
            yield event;
          }
        }
        // A short batch: nothing more is readable now. Events committed later are for the next call.
        if (result.rows.length < batch) return;
      }
    },
  };
}
