import type { EventMetadata, RecordedEvent } from '@tidemark/core';

/**
 * The columns a fold copies, in the order FoldTupleReader reads them; every one is NOT NULL. No
 * stream id: the caller has it.
 */
export const foldCopyColumns = 'version, type, data, position, id, recorded_at, metadata, schema_version';

/** Each column's width in binary COPY (int8, uuid, timestamptz, int4), or undefined for text and json. */
const widths: ReadonlyArray<number | undefined> = [8, undefined, undefined, 8, 16, 8, undefined, 4];

const epoch2000Ms = Date.UTC(2000, 0, 1);
const twoTo32 = 2 ** 32;
/** For each byte value, the character codes of its two lower-case hex digits; and the uuid's dash. */
const highDigits = Array.from({ length: 256 }, (_, byte) => '0123456789abcdef'.charCodeAt(byte >> 4));
const lowDigits = Array.from({ length: 256 }, (_, byte) => '0123456789abcdef'.charCodeAt(byte & 15));
const dash = 0x2d;
const openBrace = 0x7b;
const closeBrace = 0x7d;
/** Enough for the event types of one stream; past it, a type is decoded again after a byte compare and a copy. */
const typeCacheSize = 8;

/**
 * The end of the tuple that starts at `offset`, or -1 when its last byte has not arrived yet.
 * Throws for a tuple that is not a fold's row (field count, a NULL, a fixed-size field of
 * another width), so FoldTupleReader.read never reads past its tuple.
 */
export function foldTupleEnd(buffer: Buffer, offset: number): number {
  if (buffer.length - offset < 2) return -1;
  const count = (buffer[offset] as number) * 256 + (buffer[offset + 1] as number);
  if (count !== widths.length) throw new Error(`COPY fold: a row of ${count} fields, expected ${widths.length}`);
  let cursor = offset + 2;
  for (let field = 0; field < widths.length; field++) {
    if (buffer.length - cursor < 4) return -1;
    const length = int32(buffer, cursor);
    const width = widths[field];
    if (length < 0 || (width !== undefined && length !== width)) {
      throw new Error(`COPY fold: field ${field + 1} of a row is ${length < 0 ? 'NULL' : `${length} bytes long`}`);
    }
    cursor += 4 + length;
    if (cursor > buffer.length) return -1;
  }
  return cursor;
}

/**
 * Reads one stream's fold rows from binary COPY tuples into recorded events, the same events
 * the other reads build (eventRows.ts): the position a bigint, recorded_at a Date of the stored
 * millisecond, data and metadata parsed.
 */
export class FoldTupleReader {
  readonly #streamId: string;
  /** The stream's recent event types, as bytes and as the strings decoded from them. */
  readonly #typeBytes: Buffer[] = [];
  readonly #types: string[] = [];

  constructor(streamId: string) {
    this.#streamId = streamId;
  }

  /** The event of the complete tuple (foldTupleEnd checked it) at `offset`. */
  read(buffer: Buffer, offset: number): RecordedEvent {
    // Each field: its length (int32), then its bytes.
    let cursor = offset + 2;
    const version = int64(buffer, cursor + 4);
    cursor += 12;
    let length = int32(buffer, cursor);
    const type = this.#type(buffer, cursor + 4, length);
    cursor += 4 + length;
    length = int32(buffer, cursor);
    const data: unknown = JSON.parse(buffer.toString('utf8', cursor + 4, cursor + 4 + length));
    cursor += 4 + length;
    const position = bigint64(buffer, cursor + 4);
    cursor += 12;
    const id = this.#uuidText(buffer, cursor + 4);
    cursor += 20;
    // Microseconds since 2000-01-01 UTC, rounded to the millisecond as the other reads round it.
    const recordedAt = new Date(epoch2000Ms + Math.round(int64(buffer, cursor + 4) / 1000));
    cursor += 12;
    length = int32(buffer, cursor);
    const metadata: EventMetadata =
      length === 2 && buffer[cursor + 4] === openBrace && buffer[cursor + 5] === closeBrace
        ? {}
        : (JSON.parse(buffer.toString('utf8', cursor + 4, cursor + 4 + length)) as EventMetadata);
    cursor += 4 + length;
    const schemaVersion = int32(buffer, cursor + 4);
    return { id, type, schemaVersion, streamId: this.#streamId, version, position, recordedAt, data, metadata };
  }

  /**
   * A stream repeats a few event types: each is decoded from UTF-8 once per fold, not per event.
   * Measured on 1,000 tuples with two and with six alternating types: 2–10% of the decoding.
   */
  #type(buffer: Buffer, start: number, length: number): string {
    for (let entry = 0; entry < this.#typeBytes.length; entry++) {
      const bytes = this.#typeBytes[entry] as Buffer;
      if (bytes.length === length && sameBytes(bytes, buffer, start)) return this.#types[entry] as string;
    }
    const type = buffer.toString('utf8', start, start + length);
    if (this.#typeBytes.length === typeCacheSize) {
      this.#typeBytes.shift();
      this.#types.shift();
    }
    // Copied: the buffer is a view of pg's receive buffer.
    this.#typeBytes.push(Buffer.from(buffer.subarray(start, start + length)));
    this.#types.push(type);
    return type;
  }

  /**
   * The uuid's 16 bytes in its text form (8-4-4-4-12 lower-case hex digits), as uuid_out writes
   * it. One String.fromCharCode of all 36 character codes, spelled out, builds the flat string at
   * once: measured at half the time of filling a scratch Buffer and decoding it (a native call per
   * id), or of passing the codes as an array; joining 16 two-digit strings is as slow and leaves a
   * rope to flatten when the id is later compared or hashed. The id was 10% of a fold's time.
   */
  #uuidText(bytes: Buffer, start: number): string {
    return String.fromCharCode(
      high(bytes, start),
      low(bytes, start),
      high(bytes, start + 1),
      low(bytes, start + 1),
      high(bytes, start + 2),
      low(bytes, start + 2),
      high(bytes, start + 3),
      low(bytes, start + 3),
      dash,
      high(bytes, start + 4),
      low(bytes, start + 4),
      high(bytes, start + 5),
      low(bytes, start + 5),
      dash,
      high(bytes, start + 6),
      low(bytes, start + 6),
      high(bytes, start + 7),
      low(bytes, start + 7),
      dash,
      high(bytes, start + 8),
      low(bytes, start + 8),
      high(bytes, start + 9),
      low(bytes, start + 9),
      dash,
      high(bytes, start + 10),
      low(bytes, start + 10),
      high(bytes, start + 11),
      low(bytes, start + 11),
      high(bytes, start + 12),
      low(bytes, start + 12),
      high(bytes, start + 13),
      low(bytes, start + 13),
      high(bytes, start + 14),
      low(bytes, start + 14),
      high(bytes, start + 15),
      low(bytes, start + 15),
    );
  }
}

/** The character code of the high nibble's hex digit of the byte at `at`. */
function high(bytes: Buffer, at: number): number {
  return highDigits[bytes[at] as number] as number;
}

/** The character code of the low nibble's hex digit of the byte at `at`. */
function low(bytes: Buffer, at: number): number {
  return lowDigits[bytes[at] as number] as number;
}

function sameBytes(bytes: Buffer, buffer: Buffer, start: number): boolean {
  for (let index = 0; index < bytes.length; index++) if (bytes[index] !== buffer[start + index]) return false;
  return true;
}

// Byte by byte rather than Buffer's readInt32BE: plain typed-array loads that inline into the
// caller. readInt32BE and readUInt32BE, with their range checks, took about 2% of a fold's
// profile as separate calls; foldTupleEnd has already checked every field's bounds.

/** A big-endian int32. */
function int32(buffer: Buffer, at: number): number {
  return (
    ((buffer[at] as number) << 24) | ((buffer[at + 1] as number) << 16) | ((buffer[at + 2] as number) << 8) | (buffer[at + 3] as number)
  );
}

/** A big-endian int64 as a number: exact for versions and for timestamps within ±285 years of 2000. */
function int64(buffer: Buffer, at: number): number {
  return int32(buffer, at) * twoTo32 + (int32(buffer, at + 4) >>> 0);
}

/** A big-endian int64 as a bigint, through a number while that is exact (positions pass 2^53 only late). */
function bigint64(buffer: Buffer, at: number): bigint {
  const value = int64(buffer, at);
  return Number.isSafeInteger(value) ? BigInt(value) : buffer.readBigInt64BE(at);
}
