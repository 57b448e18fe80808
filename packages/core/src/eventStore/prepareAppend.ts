import { findBidiControl } from '../domain/bidiControls.js';
import { PayloadTooLargeError, ValidationError } from '../domain/errors.js';
import type { EventMetadata, NewEvent } from '../domain/event.js';
import { newId } from '../domain/ids.js';
import { isSchemaVersion, maxSchemaVersion } from '../domain/isSchemaVersion.js';
import { isWellFormed } from '../domain/isWellFormed.js';
import { type AppendLimits, resolveAppendLimits } from './appendLimits.js';
import { assertStorableJson } from './assertStorableJson.js';
import type { AppendOptions } from './eventStore.js';
import { type ExpectedVersion, parseExpectedVersion } from './expectedVersion.js';
import { toJson } from './toJson.js';

/** An event checked and serialised once, ready for any adapter to write. */
export interface PreparedEvent {
  id: string;
  /** Whether the caller chose the id; only then can the append be a retry of an earlier one. */
  idSupplied: boolean;
  type: string;
  schemaVersion: number;
  dataJson: string;
  metadataJson: string;
}

export interface PreparedAppend {
  streamId: string;
  expectedVersion: ExpectedVersion;
  events: PreparedEvent[];
  /** True when at least one event carries a caller-supplied id. */
  anyIdSupplied: boolean;
}

const controlCharacters = /[\u0000-\u001f\u007f-\u009f]/;
const uuidPattern = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const textEncoder = new TextEncoder();

/**
 * What storage can hold and match exactly: a non-empty string of at most 256 characters,
 * well-formed Unicode (no lone surrogate, which storage would turn into U+FFFD), no control
 * characters. Lookups of what may already be stored use this rule (the event browser's filters,
 * which also take metadata values such as correlation ids, and its stream cursor): names stored
 * before bidirectional controls were refused, and metadata values, can still hold them.
 */
export function assertStorableName(value: unknown, what: string): asserts value is string {
  if (typeof value !== 'string' || value.length === 0) {
    throw new ValidationError(`${what} must be a non-empty string`, { field: what });
  }
  if (value.length > 256) {
    throw new ValidationError(`${what} is ${value.length} characters long; the limit is 256`, { field: what, length: value.length });
  }
  if (controlCharacters.test(value)) {
    throw new ValidationError(`${what} contains a control character`, { field: what });
  }
  if (!isWellFormed(value)) {
    throw new ValidationError(`${what} is not well-formed Unicode (it contains a lone surrogate)`, { field: what });
  }
}

/**
 * A name (stream id, event type): storable (assertStorableName) and free of Unicode
 * bidirectional controls (findBidiControl), which would make it display as a different name in
 * the dashboard, the CLI and logs ("Trojan Source", CVE-2021-42574).
 *
 * The rule covers every identifier an operator reads and acts on, all of which come through
 * here: stream ids (appends, reads, snapshots, tombstones and truncations, on every store, since
 * the adapters call this same check), event types (and upcast targets, outbox mapping types),
 * snapshot names, consumer names (inbox, idempotent handlers, local delivery), message ids,
 * types, keys and header names, idempotency scopes and keys. Free text is not a name and keeps
 * them: event data and metadata (an owner's name in Arabic or Hebrew may need U+200F), header
 * values, error messages; whoever prints those escapes them (the CLI's escapeControls).
 * Projection names (processing/projector.ts) and outbox relay names check only well-formedness
 * today; they are set in code, not by clients, and should call this check too.
 */
export function assertValidName(value: unknown, what: string): asserts value is string {
  assertStorableName(value, what);
  const codePoint = findBidiControl(value);
  if (codePoint !== undefined) {
    throw new ValidationError(
      `${what} contains ${codePoint}, a bidirectional control character that can make it display as a different name`,
      { field: what, codePoint },
    );
  }
}

/**
 * Metadata fields PostgreSQL indexes (the event browser's correlation and causation lookups:
 * packages/postgres, postgresEventBrowserIndexes.ts). A btree entry holds at most 2,704 bytes, so
 * a longer value would fail the append there with a raw database error.
 */
export const indexedMetadataFields = ['correlationId', 'causationId'] as const;

/** The longest value of an indexed metadata field, in UTF-8 bytes: well inside a btree entry. */
export const maxIndexedMetadataBytes = 1024;

/** Each indexed metadata field, when present, is a string that fits its index. */
function assertIndexableMetadata(metadata: Record<string, unknown>, index: number): void {
  // Messages are built only on failure: this runs for every event.
  for (const name of indexedMetadataFields) {
    const value = metadata[name];
    if (value === undefined || value === null) continue;
    if (typeof value !== 'string') {
      const field = `event ${index} metadata → ${name}`;
      throw new ValidationError(`${field} must be a string`, { field });
    }
    // Three UTF-8 bytes at most per UTF-16 unit: a short id needs no count.
    const bytes = value.length * 3 <= maxIndexedMetadataBytes ? 0 : byteLength(value);
    if (bytes > maxIndexedMetadataBytes) {
      const field = `event ${index} metadata → ${name}`;
      throw new ValidationError(`${field} is ${bytes} bytes in UTF-8; the limit is ${maxIndexedMetadataBytes}`, { field, length: bytes });
    }
  }
}

/**
 * The stream id rule of every store, on writes and reads alike: a read by an id no append may
 * write (NUL, a lone surrogate, a bidirectional control) is a ValidationError, not an empty result.
 * A stream stored under such an id before bidirectional controls were refused is reachable only
 * through readAll and the event browser (whose filters take any storable name), not by its id.
 */
export function assertValidStreamId(streamId: unknown): asserts streamId is string {
  assertValidName(streamId, 'stream id');
}

function byteLength(text: string): number {
  // Fast path: JSON of ASCII text is one byte per character.
  return text.length < 4096 ? Buffer.byteLength(text) : textEncoder.encode(text).length;
}

/**
 * Validates an append completely before anything touches storage, so a bad event anywhere in
 * the batch means nothing is written.
 */
export function prepareAppend(
  streamId: unknown,
  events: readonly NewEvent[],
  options: AppendOptions | undefined,
  limits: AppendLimits,
  defaultMetadata?: EventMetadata,
): PreparedAppend {
  // Adapters hand in their own limits object: checked here too, so a NaN cap is never silently none.
  const { maxEventBytes, maxAppendBytes } = resolveAppendLimits(limits);
  assertValidStreamId(streamId);
  const expectedVersion = parseExpectedVersion(options?.expectedVersion);
  if (!Array.isArray(events) || events.length === 0) {
    throw new ValidationError('An append needs at least one event', { streamId });
  }
  let total = 0;
  let anyIdSupplied = false;
  const seen = new Set<string>();
  // Checked before map, which skips the holes of a sparse array ([, event]): a hole reads as an
  // undefined event here. (Array.from would visit them, at 0.7 µs more per append, measured.)
  for (let index = 0; index < events.length; index++) {
    const event: unknown = events[index];
    if (event === null || typeof event !== 'object') throw new ValidationError(`Event ${index} is not an object`, { streamId, index });
  }
  const prepared = events.map((event, index): PreparedEvent => {
    assertValidName(event.type, `event ${index} type`);
    const schemaVersion = event.schemaVersion ?? 1;
    if (!isSchemaVersion(schemaVersion)) {
      throw new ValidationError(`Event ${index} schemaVersion must be a whole number from 1 to ${maxSchemaVersion}`, { streamId, index });
    }
    let id: string;
    const idSupplied = event.id !== undefined;
    if (idSupplied) {
      if (typeof event.id !== 'string' || !uuidPattern.test(event.id)) {
        throw new ValidationError(`Event ${index} id must be a UUID`, { streamId, index });
      }
      id = event.id.toLowerCase();
      if (seen.has(id)) throw new ValidationError(`Event id ${id} appears twice in one append`, { streamId, index });
      seen.add(id);
      anyIdSupplied = true;
    } else {
      id = newId();
    }
    if (event.data === undefined) throw new ValidationError(`Event ${index} has no data`, { streamId, index });
    const dataJson = toJson(event.data, `event ${index} data`);
    assertStorableJson(dataJson, `event ${index} data`);
    // Checked before merging: spreading an array or a string into the defaults would turn it
    // into an object with index keys and let it through. null counts as absent.
    const own: unknown = event.metadata;
    if (own !== undefined && own !== null && (typeof own !== 'object' || Array.isArray(own))) {
      throw new ValidationError(`Event ${index} metadata must be an object`, { streamId, index });
    }
    const metadata = defaultMetadata ? { ...defaultMetadata, ...event.metadata } : (event.metadata ?? {});
    const metadataJson = toJson(metadata, `event ${index} metadata`);
    if (metadataJson[0] !== '{') throw new ValidationError(`Event ${index} metadata must be an object`, { streamId, index });
    assertStorableJson(metadataJson, `event ${index} metadata`);
    assertIndexableMetadata(metadata, index);
    const size = byteLength(dataJson) + byteLength(metadataJson);
    if (size > maxEventBytes) {
      throw new PayloadTooLargeError(`Event ${index} is ${size} bytes; the limit is ${maxEventBytes}`, {
        limit: maxEventBytes,
        actual: size,
        index,
      });
    }
    total += size;
    return { id, idSupplied, type: event.type, schemaVersion, dataJson, metadataJson };
  });
  if (total > maxAppendBytes) {
    throw new PayloadTooLargeError(`The append is ${total} bytes; the limit is ${maxAppendBytes}`, {
      limit: maxAppendBytes,
      actual: total,
    });
  }
  return { streamId, expectedVersion, events: prepared, anyIdSupplied };
}
