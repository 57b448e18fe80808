import type { RecordedEvent } from '@tidemark/core';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CopyFoldQuery } from '../src/eventStore/copyFoldQuery.js';
import { FoldTupleReader } from '../src/eventStore/foldTuples.js';

/** What the server stores for one event, as the fold's COPY sends it. */
interface StoredRow {
  version: number;
  type: string;
  dataJson: string;
  position: bigint;
  id: string;
  /** Microseconds since 2000-01-01 UTC, as timestamptz holds it. */
  recordedMicros: bigint;
  metadataJson: string;
  schemaVersion: number;
}

const epoch2000Ms = Date.UTC(2000, 0, 1);

function int8(value: bigint): Buffer {
  const bytes = Buffer.alloc(8);
  bytes.writeBigInt64BE(value);
  return bytes;
}

function int4(value: number): Buffer {
  const bytes = Buffer.alloc(4);
  bytes.writeInt32BE(value);
  return bytes;
}

/** One binary COPY tuple, written as PostgreSQL's send functions write it. */
function tuple(row: StoredRow): Buffer {
  const fields = [
    int8(BigInt(row.version)),
    Buffer.from(row.type, 'utf8'),
    Buffer.from(row.dataJson, 'utf8'),
    int8(row.position),
    Buffer.from(row.id.replaceAll('-', ''), 'hex'),
    int8(row.recordedMicros),
    Buffer.from(row.metadataJson, 'utf8'),
    int4(row.schemaVersion),
  ];
  const count = Buffer.alloc(2);
  count.writeInt16BE(fields.length);
  return Buffer.concat([count, ...fields.flatMap((field) => [int4(field.length), field])]);
}

function header(extension = Buffer.alloc(0)): Buffer {
  return Buffer.concat([Buffer.from('PGCOPY\n\xff\r\n\0', 'latin1'), int4(0), int4(extension.length), extension]);
}

const trailer = Buffer.from([0xff, 0xff]);

const plainRow: StoredRow = {
  version: 1,
  type: 't',
  dataJson: '{}',
  position: 1n,
  id: '00000000-0000-0000-0000-000000000000',
  recordedMicros: 0n,
  metadataJson: '{}',
  schemaVersion: 1,
};

function expected(row: StoredRow, streamId: string): RecordedEvent {
  return {
    id: row.id,
    type: row.type,
    schemaVersion: row.schemaVersion,
    streamId,
    version: row.version,
    position: row.position,
    recordedAt: new Date(epoch2000Ms + Math.round(Number(row.recordedMicros) / 1000)),
    data: JSON.parse(row.dataJson),
    metadata: JSON.parse(row.metadataJson),
  };
}

/**
 * Feeds `bytes` to a fold query in pieces that end at `cuts`, as pg does: each piece is a view of
 * one receive buffer that is overwritten once the handler returns. Returns what the query reported.
 */
function feed(bytes: Buffer, cuts: readonly number[], streamId = 's-1'): { error: Error | null; events?: RecordedEvent[]; calls: number } {
  const query = new CopyFoldQuery('unused', new FoldTupleReader(streamId));
  const outcome: { error: Error | null; events?: RecordedEvent[]; calls: number } = { error: null, calls: 0 };
  query.callback = (error, events) => {
    outcome.calls++;
    outcome.error = error;
    if (events) outcome.events = events;
  };
  const receive = Buffer.alloc(bytes.length);
  let start = 0;
  for (const cut of [...new Set(cuts)].sort((a, b) => a - b).concat(bytes.length)) {
    if (cut <= start) continue;
    bytes.copy(receive, 0, start, cut);
    query.handleCopyData({ chunk: receive.subarray(0, cut - start) });
    receive.fill(0xaa);
    start = cut;
  }
  query.handleCommandComplete();
  query.handleReadyForQuery();
  return outcome;
}

const hexChars = '0123456789abcdef'.split('');
const uuidText = fc
  .array(fc.constantFrom(...hexChars), { minLength: 32, maxLength: 32 })
  .map((digits) => digits.join(''))
  .map((hex) => `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`);

const storedRow: fc.Arbitrary<StoredRow> = fc.record({
  version: fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER }),
  type: fc.string({ unit: 'grapheme', minLength: 1, maxLength: 20 }),
  dataJson: fc.jsonValue().map((value) => JSON.stringify(value) ?? 'null'),
  // Past 2^53 too: positions come from xid8 << bits and outgrow a double's exact range.
  position: fc.bigInt({ min: 1n, max: 2n ** 63n - 1n }),
  id: uuidText,
  // Whole milliseconds from 1900 to 2200, plus microseconds that round down.
  recordedMicros: fc
    .tuple(
      fc.integer({ min: Date.UTC(1900, 0, 1) - epoch2000Ms, max: Date.UTC(2200, 0, 1) - epoch2000Ms }),
      fc.integer({ min: 0, max: 499 }),
    )
    .map(([ms, micros]) => BigInt(ms) * 1000n + BigInt(micros)),
  metadataJson: fc.oneof(
    fc.constant('{}'),
    fc.dictionary(fc.string(), fc.jsonValue()).map((value) => JSON.stringify(value)),
  ),
  schemaVersion: fc.integer({ min: 1, max: 2 ** 31 - 1 }),
});

describe('CopyFoldQuery: a fold read from binary COPY', () => {
  it('reads every row as the recorded event, in version order, however the bytes are split across messages', () => {
    fc.assert(
      fc.property(
        // In any order: the statement has no ORDER BY (a rewritten table scans in another order).
        fc.uniqueArray(storedRow, { selector: (row) => row.version, maxLength: 12 }),
        fc.uint8Array({ maxLength: 5 }),
        fc.array(fc.nat(), { maxLength: 30 }),
        (rows, extension, cutSeeds) => {
          const bytes = Buffer.concat([header(Buffer.from(extension)), ...rows.map(tuple), trailer]);
          const outcome = feed(
            bytes,
            cutSeeds.map((seed) => seed % bytes.length),
          );
          expect(outcome.calls).toBe(1);
          expect(outcome.error).toBeNull();
          const inOrder = [...rows].sort((a, b) => a.version - b.version);
          expect(outcome.events).toEqual(inOrder.map((row) => expected(row, 's-1')));
        },
      ),
    );
  });

  it('reads one message per row, as the server sends them, event types alternating', () => {
    const rows = [1, 2, 3].map((version) => ({
      version,
      type: version === 2 ? 'Withdrawn' : 'Deposited',
      dataJson: `{"amount":${version}}`,
      position: BigInt(version) << 20n,
      id: `0000000${version}-89ab-cdef-0123-456789abcdef`,
      recordedMicros: 1_000_000n * BigInt(version),
      metadataJson: '{}',
      schemaVersion: 1,
    }));
    const pieces = [Buffer.concat([header(), tuple(rows[0] as StoredRow)]), ...rows.slice(1).map(tuple), trailer];
    const bytes = Buffer.concat(pieces);
    let at = 0;
    const cuts = pieces.map((piece) => (at += piece.length));
    const outcome = feed(bytes, cuts);
    expect(outcome.error).toBeNull();
    expect(outcome.events?.map((event) => [event.type, event.data])).toEqual([
      ['Deposited', { amount: 1 }],
      ['Withdrawn', { amount: 2 }],
      ['Deposited', { amount: 3 }],
    ]);
  });

  it('fails a copy that ends without its trailer, or with bytes after it', () => {
    const row = tuple(plainRow);
    expect(feed(Buffer.concat([header(), row]), []).error?.message).toMatch(/without its trailer/);
    expect(feed(Buffer.concat([header(), row.subarray(0, 10)]), []).error?.message).toMatch(/without its trailer/);
    expect(feed(Buffer.concat([header(), row, trailer, row]), []).error?.message).toMatch(/after the copy's trailer/);
  });

  it('fails rows that are not a fold row, once, when the server is ready again', () => {
    const row = tuple(plainRow);
    const sevenFields = Buffer.from(row);
    sevenFields.writeInt16BE(7);
    const outcome = feed(Buffer.concat([header(), sevenFields, row, trailer]), []);
    expect(outcome.calls).toBe(1);
    expect(outcome.error?.message).toMatch(/a row of 7 fields/);

    // The version (first field) as NULL: length -1 and no bytes.
    const nullVersion = Buffer.concat([row.subarray(0, 2), int4(-1), row.subarray(2 + 4 + 8)]);
    expect(feed(Buffer.concat([header(), nullVersion, trailer]), []).error?.message).toMatch(/field 1 of a row is NULL/);

    // Not binary COPY at all.
    expect(feed(Buffer.from('1\tDeposited\t{}\n2\tWithdrawn\t{}\n'), []).error?.message).toMatch(/not answer in binary COPY/);
  });

  it("reports the server's error, once", () => {
    const query = new CopyFoldQuery('unused', new FoldTupleReader('s-1'));
    const errors: Array<Error | null> = [];
    query.callback = (error) => errors.push(error);
    query.handleCopyData({ chunk: header() });
    const failure = new Error('stream deleted');
    query.handleError(failure);
    query.handleReadyForQuery();
    expect(errors).toEqual([failure]);
  });
});
