import {
  type EventPipeline,
  type EventStore,
  isPromiseLike,
  type LogPage,
  logPage,
  type RecordedEvent,
  resolveAllRange,
} from '@tidemark/core';
import type { Database } from 'better-sqlite3';
import type { EventRow } from './sqliteRowMapping.js';
import { toRecordedEvent } from './sqliteRowMapping.js';
import { type FilteredReadAll, prepareFilteredReadAll, type SqliteStatements } from './sqliteStatements.js';

export type SqliteLogReads = Pick<EventStore, 'readAll' | 'headPosition'> & Required<Pick<EventStore, 'readPage'>>;

/**
 * Reads of the whole log on the read connection: readAll, readPage and the head.
 * `whenReadable` runs a read when the store allows it (on a shared ':memory:' connection, not
 * inside an open transaction).
 */
export function createSqliteLogReads(
  readDb: Database,
  reads: SqliteStatements,
  pipeline: EventPipeline,
  assertOpen: () => void,
  whenReadable: <T>(operation: string, read: () => T) => Promise<T>,
): SqliteLogReads {
  const filteredReadAll = new Map<string, FilteredReadAll>();

  /** Prepared once per filter shape (how many types, how many categories): values are bound. */
  function filteredReadAllFor(typeCount: number, categoryCount: number): FilteredReadAll {
    const key = `${typeCount}:${categoryCount}`;
    let filtered = filteredReadAll.get(key);
    if (!filtered) {
      filtered = prepareFilteredReadAll(readDb, typeCount, categoryCount);
      filteredReadAll.set(key, filtered);
    }
    return filtered;
  }

  /** One page's rows for a range's filters; undefined when a filter list is empty (it matches nothing, as in the in-memory store). */
  function pageReader(range: ReturnType<typeof resolveAllRange>): ((after: bigint, size: number) => EventRow[]) | undefined {
    if (range.types?.length === 0 || range.categories?.length === 0) return undefined;
    // Deduplicated: each category or type becomes its own UNION ALL branch, and a repeated one
    // would deliver its events twice.
    const types = [...new Set(range.types ? pipeline.storedTypes(range.types) : [])];
    const categories = [...new Set(range.categories ?? [])];
    if (types.length + categories.length === 0) return (after, size) => reads.readAll.all(after, size);
    const filtered = filteredReadAllFor(types.length, categories.length);
    const parameters = filtered.parameters(types, categories);
    return (after, size) => filtered.statement.all(...parameters(after, size));
  }

  const head = () => BigInt(reads.headPosition.get() ?? 0);

  return {
    async *readAll(readOptions): AsyncGenerator<RecordedEvent> {
      assertOpen();
      const range = resolveAllRange(readOptions);
      const readRows = pageReader(range);
      if (!readRows) return;
      let after = range.after;
      let remaining = range.limit;
      // Each page is a fresh query from the last position seen, so events committed while the
      // caller iterates are picked up, and memory holds one page at most. Stop only on an empty
      // page: an event committed while the last page was consumed is still delivered.
      while (remaining > 0) {
        assertOpen();
        const size = Math.min(range.batchSize, remaining);
        const rows = await whenReadable('readAll', () => readRows(after, size));
        if (rows.length === 0) return;
        const page = pipeline.readPage(rows.map(toRecordedEvent), range.types);
        yield* isPromiseLike(page) ? await page : page;
        remaining -= rows.length;
        after = BigInt(rows[rows.length - 1]![0]);
      }
    },

    async readPage(pageOptions): Promise<LogPage> {
      assertOpen();
      const range = resolveAllRange(pageOptions);
      const readRows = pageReader(range);
      // The head first: another process may commit between the two statements, and the page
      // may then hold events past the head read — never miss ones below it.
      const [top, rows] = await whenReadable('readPage', () => [head(), readRows ? readRows(range.after, range.limit) : []] as const);
      const last = rows.length > 0 ? BigInt(rows[rows.length - 1]![0]) : 0n;
      const staged = pipeline.readPage(rows.map(toRecordedEvent), range.types);
      return logPage(isPromiseLike(staged) ? await staged : staged, rows.length, range.limit, top, last);
    },

    async headPosition() {
      assertOpen();
      return whenReadable('headPosition', head);
    },
  };
}
