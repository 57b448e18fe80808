import { ConcurrencyError, ValidationError } from '../domain/errors.js';

/**
 * What a writer believes about the stream before appending:
 * - a number: the stream is exactly at that version (0 ⇔ it does not exist yet);
 * - 'no_stream': it must not exist; 'stream_exists': it must exist; 'any': no check.
 */
export type ExpectedVersion = number | 'no_stream' | 'stream_exists' | 'any';

/** Throws a ValidationError for anything that is not one of the four forms. */
export function parseExpectedVersion(value: unknown): ExpectedVersion {
  if (value === undefined) return 'any';
  if (value === 'no_stream' || value === 'stream_exists' || value === 'any') return value;
  if (typeof value === 'number' && Number.isSafeInteger(value) && value >= 0) return value;
  throw new ValidationError(
    `Unknown expected version ${describeValue(value)}: use a whole number ≥ 0, 'no_stream', 'stream_exists' or 'any'`,
    { expectedVersion: describeValue(value) },
  );
}

/** For the error message only; JSON.stringify itself throws on bigints and cycles, which would hide the real error. */
function describeValue(value: unknown): string {
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return typeof value === 'bigint' ? `${value}n` : Object.prototype.toString.call(value);
  }
}

/** Throws ConcurrencyError when a stream at `actual` (0 = absent) does not meet `expected`. */
export function assertExpectedVersion(streamId: string, expected: ExpectedVersion, actual: number): void {
  const ok =
    expected === 'any' || (expected === 'no_stream' && actual === 0) || (expected === 'stream_exists' && actual > 0) || expected === actual;
  if (!ok) throw new ConcurrencyError(streamId, expected, actual);
}
