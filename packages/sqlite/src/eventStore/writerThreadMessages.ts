import {
  type AppendResult,
  ConcurrencyError,
  DuplicateEventIdError,
  type ErrorCode,
  type EventMetadata,
  type ExpectedVersion,
  IdempotencyConflictError,
  type PreparedAppend,
  type PreparedEvent,
  StreamDeletedError,
  TidemarkError,
  writtenAppendResult,
} from '@tidemark/core';
import Database from 'better-sqlite3';
import type { BatchOutcome } from './sqliteBatchWriter.js';

/** What the writer thread is started with (workerData). */
export interface WriterThreadData {
  file: string;
  synchronous: 'FULL' | 'NORMAL';
  busyTimeoutMs: number;
  defaultMetadata: EventMetadata | undefined;
}

export type WriterRequest = { kind: 'batch'; id: number; recordedAt: number; batch: FlatBatch } | { kind: 'close' };

/**
 * A batch as one flat array of strings, numbers and booleans: structured clone copies such an
 * array several times faster than the nested objects, and the copy runs on the event loop. Per
 * append: streamId, expectedVersion, event count; per event: id, idSupplied, type,
 * schemaVersion, dataJson, metadataJson.
 */
export type FlatBatch = Array<string | number | boolean>;

export function flattenBatch(batch: readonly PreparedAppend[]): FlatBatch {
  const flat: FlatBatch = [];
  for (const { streamId, expectedVersion, events } of batch) {
    flat.push(streamId, expectedVersion, events.length);
    for (const event of events) flat.push(event.id, event.idSupplied, event.type, event.schemaVersion, event.dataJson, event.metadataJson);
  }
  return flat;
}

export function unflattenBatch(flat: FlatBatch): PreparedAppend[] {
  const batch: PreparedAppend[] = [];
  let i = 0;
  while (i < flat.length) {
    const streamId = flat[i++] as string;
    const expectedVersion = flat[i++] as ExpectedVersion;
    const count = flat[i++] as number;
    const events: PreparedEvent[] = [];
    let anyIdSupplied = false;
    for (let n = 0; n < count; n++, i += 6) {
      const idSupplied = flat[i + 1] as boolean;
      anyIdSupplied ||= idSupplied;
      events.push({
        id: flat[i] as string,
        idSupplied,
        type: flat[i + 2] as string,
        schemaVersion: flat[i + 3] as number,
        dataJson: flat[i + 4] as string,
        metadataJson: flat[i + 5] as string,
      });
    }
    batch.push({ streamId, expectedVersion, events, anyIdSupplied });
  }
  return batch;
}

export type WriterReply =
  | { kind: 'ready' }
  | { kind: 'failed'; error: EncodedError }
  | { kind: 'batch'; id: number; outcomes: FlatOutcomes }
  | { kind: 'closed' };

/**
 * The outcomes of a batch, flat like the batch: a written append as its first version and
 * position only (rowids fit a double), as the main thread rebuilds the result around the
 * prepared append it kept — the events' JSON never crosses back and `events` stays lazy. The
 * rare unwritten retry or failure travels as an object.
 */
export type FlatOutcomes = Array<number | EncodedOutcome>;

export type EncodedOutcome = { kind: 'unwritten'; result: AppendResult } | { kind: 'error'; error: EncodedError };

export type EncodedError =
  | { kind: 'tidemark'; name: string; code: ErrorCode; message: string; details: Record<string, unknown> }
  | { kind: 'sqlite'; message: string; code: string }
  | { kind: 'other'; name: string; message: string };

export function encodeOutcomes(outcomes: readonly BatchOutcome[], batch: readonly PreparedAppend[]): FlatOutcomes {
  const flat: FlatOutcomes = [];
  outcomes.forEach((outcome, i) => {
    if ('error' in outcome) flat.push({ kind: 'error', error: encodeError(outcome.error) });
    else if (!outcome.written) flat.push({ kind: 'unwritten', result: { ...outcome, events: [] } });
    else {
      const count = batch[i]!.events.length;
      flat.push(outcome.nextExpectedVersion - count + 1, Number(outcome.position) - count + 1);
    }
  });
  return flat;
}

export function decodeOutcomes(flat: FlatOutcomes, batch: readonly PreparedAppend[], recordedAt: number): BatchOutcome[] {
  const outcomes: BatchOutcome[] = [];
  let i = 0;
  for (const prepared of batch) {
    const head = flat[i++]!;
    if (typeof head === 'number') {
      outcomes.push(writtenAppendResult(prepared, head, BigInt(flat[i++] as number), recordedAt));
    } else if (head.kind === 'unwritten') outcomes.push(head.result);
    else outcomes.push({ error: decodeError(head.error) });
  }
  return outcomes;
}

export function encodeError(error: unknown): EncodedError {
  if (error instanceof TidemarkError) {
    return { kind: 'tidemark', name: error.name, code: error.code, message: error.message, details: error.details };
  }
  if (error instanceof Database.SqliteError) return { kind: 'sqlite', message: error.message, code: error.code };
  if (error instanceof Error) return { kind: 'other', name: error.name, message: error.message };
  return { kind: 'other', name: 'Error', message: String(error) };
}

/**
 * The same typed error on this side: the classes an append raises are rebuilt from their
 * details, so `instanceof`, `code` and the fields callers read are what a same-thread append gives.
 */
export function decodeError(error: EncodedError): Error {
  switch (error.kind) {
    case 'sqlite':
      return new Database.SqliteError(error.message, error.code);
    case 'other': {
      const rebuilt = new Error(error.message);
      rebuilt.name = error.name;
      return rebuilt;
    }
    case 'tidemark':
      return decodeTidemarkError(error);
  }
}

function decodeTidemarkError({ name, code, message, details }: Extract<EncodedError, { kind: 'tidemark' }>): TidemarkError {
  const text = (key: string) => String(details[key]);
  switch (name) {
    case 'ConcurrencyError':
      return new ConcurrencyError(text('streamId'), details.expected as string | number, Number(details.actual));
    case 'DuplicateEventIdError':
      return new DuplicateEventIdError(text('streamId'), text('eventId'));
    case 'IdempotencyConflictError':
      return new IdempotencyConflictError(
        text('streamId'),
        text('eventId'),
        details.field as 'type' | 'schemaVersion' | 'data' | 'metadata',
      );
    case 'StreamDeletedError':
      return new StreamDeletedError(text('streamId'));
    default: {
      const rebuilt = new TidemarkError(code, message, details);
      rebuilt.name = name;
      return rebuilt;
    }
  }
}
