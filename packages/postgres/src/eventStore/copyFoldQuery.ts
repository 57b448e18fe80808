import type { RecordedEvent } from '@tidemark/core';
import type pg from 'pg';
import { FoldTupleReader, foldTupleEnd } from './foldTuples.js';
import type { Queryable } from './queryable.js';

/**
 * Runs a fold's COPY statement (streamReads.ts) on the pool or on a transaction's statement
 * queue. Both hand a Submittable to pg's client.query with a callback, which pg gives the
 * Submittable, and resolve with what it reports: pool.query's types say it returns the
 * Submittable itself, hence the casts.
 */
export function runCopyFold(queryable: Queryable, text: string, streamId: string): Promise<RecordedEvent[]> {
  const query = new CopyFoldQuery(text, new FoldTupleReader(streamId));
  return (queryable as unknown as { query(submittable: CopyFoldQuery): Promise<RecordedEvent[]> }).query(query);
}

/** PGCOPY\n\377\r\n\0: the signature that opens every binary COPY. */
const signature = Buffer.from('PGCOPY\n\xff\r\n\0', 'latin1');
/** The signature, the flags field and the header extension's length. */
const headerFixedLength = signature.length + 8;
const oidsFlag = 1 << 16;

/** What pg hands a query for each CopyData message: a view of its receive buffer. */
interface CopyDataMessage {
  chunk: Buffer;
}

/**
 * A fold's events read with `COPY (SELECT …) TO STDOUT (FORMAT binary)`, as a pg Submittable.
 *
 * Why not a SELECT: in pg's text protocol every field of every row becomes a JavaScript string
 * before any type parser sees it, and the server formats every field as text (uuid_out, int8out,
 * the timestamp). A fold needs eight fields per event where the raw driver's fold selects two,
 * and those per-field costs were most of the gap between the two (issue 13). pg decodes DataRow
 * fields only as text, so binary results need COPY, whose rows pg hands over as raw bytes:
 * integers, the uuid and the timestamp are read straight from them, and only `type`, `data` and
 * a non-empty `metadata` are decoded as UTF-8.
 *
 * Rows are decoded as each CopyData message arrives, because pg reuses its receive buffer once
 * the handler returns. The server sends one message per row, but the protocol does not promise
 * it: a row split across messages is copied and completed from the next one. A row that cannot
 * be decoded fails the fold (reported once the server is ready again, so the connection stays in
 * step); an error from the server (a deleted stream, a dropped connection) fails it as any
 * statement's would.
 */
export class CopyFoldQuery implements pg.Submittable {
  /** Set by pg's client.query (pool.query and the transaction's statement queue pass one). */
  callback?: (error: Error | null, events?: RecordedEvent[]) => void;
  readonly #text: string;
  readonly #reader: FoldTupleReader;
  readonly #events: RecordedEvent[] = [];
  /** Bytes of a row (or of the header) whose end has not arrived yet: a copy, not a view. */
  #pending: Buffer | undefined;
  #headerRead = false;
  /** The trailer (a field count of -1) has arrived: the copy is whole. */
  #ended = false;
  #finished = false;
  #failure: Error | undefined;

  constructor(text: string, reader: FoldTupleReader) {
    this.#text = text;
    this.#reader = reader;
  }

  submit(connection: pg.Connection): void {
    // The simple query protocol: COPY takes no parameters (the statement text carries them as
    // literals) and cannot be prepared.
    (connection as unknown as { query(text: string): void }).query(this.#text);
  }

  handleCopyData(message: CopyDataMessage): void {
    if (this.#failure) return;
    try {
      this.#consume(message.chunk);
    } catch (error) {
      this.#failure = error instanceof Error ? error : new Error(String(error));
    }
  }

  handleReadyForQuery(): void {
    if (!this.#failure && !this.#ended) this.#failure = new Error('COPY fold: the copy ended without its trailer');
    if (!this.#failure) inVersionOrder(this.#events);
    this.#finish(this.#failure ?? null);
  }

  handleError(error: Error): void {
    this.#finish(error);
  }

  // Nothing to do for the other messages of a COPY: its answer is CopyOutResponse (not passed on
  // by pg), the CopyData messages, CopyDone and CommandComplete.
  handleCommandComplete(): void {}
  handleRowDescription(): void {}
  handleDataRow(): void {}
  handleEmptyQuery(): void {}
  handlePortalSuspended(): void {}

  handleCopyInResponse(connection: pg.Connection): void {
    // Cannot happen for COPY … TO STDOUT; answered as pg answers it, so the connection recovers.
    (connection as unknown as { sendCopyFail(message: string): void }).sendCopyFail('a fold copies out, never in');
  }

  #finish(error: Error | null): void {
    if (this.#finished) return;
    this.#finished = true;
    if (error) this.callback?.(error);
    else this.callback?.(null, this.#events);
  }

  #consume(chunk: Buffer): void {
    let buffer = chunk;
    if (this.#pending !== undefined) {
      buffer = Buffer.concat([this.#pending, chunk]);
      this.#pending = undefined;
    }
    let offset = 0;
    if (!this.#headerRead) {
      const end = headerEnd(buffer);
      if (end === -1) {
        this.#pending = Buffer.from(buffer);
        return;
      }
      offset = end;
      this.#headerRead = true;
    }
    while (offset < buffer.length) {
      if (this.#ended) throw new Error("COPY fold: data after the copy's trailer");
      if (buffer.length - offset >= 2 && buffer.readInt16BE(offset) === -1) {
        this.#ended = true;
        offset += 2;
        continue;
      }
      const end = foldTupleEnd(buffer, offset);
      if (end === -1) {
        // Copied: the chunk is a view of pg's receive buffer, overwritten after this returns.
        this.#pending = Buffer.from(buffer.subarray(offset));
        return;
      }
      this.#events.push(this.#reader.read(buffer, offset));
      offset = end;
    }
  }
}

/** The end of the binary COPY header, or -1 when it has not all arrived. */
function headerEnd(buffer: Buffer): number {
  if (buffer.length < headerFixedLength) return -1;
  if (!buffer.subarray(0, signature.length).equals(signature))
    throw new Error('COPY fold: the server did not answer in binary COPY format');
  if ((buffer.readInt32BE(signature.length) & oidsFlag) !== 0) throw new Error('COPY fold: the copy carries OIDs');
  const end = headerFixedLength + buffer.readInt32BE(signature.length + 4);
  return buffer.length < end ? -1 : end;
}

/**
 * The statement has no ORDER BY: rows come in the scan's order, which for an append-only table
 * is almost always the order of versions, and the server streams them as it finds them instead
 * of sorting all of them before sending the first (with the sort, the client sat idle for the
 * server's whole scan; measured on a 1,000-event fold). Sorted here on the rare occasion they
 * are not (a table rewritten by CLUSTER or pg_repack, a restore).
 */
function inVersionOrder(events: RecordedEvent[]): void {
  for (let index = 1; index < events.length; index++) {
    if ((events[index] as RecordedEvent).version < (events[index - 1] as RecordedEvent).version) {
      events.sort((a, b) => a.version - b.version);
      return;
    }
  }
}
