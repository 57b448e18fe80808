import { ValidationError } from '../domain/errors.js';

/**
 * Global positions are bigints: PostgreSQL positions encode the writing transaction and pass
 * 2^53 (exact in a JavaScript number) on a cluster past its second xid epoch. Versions, bounded
 * by a stream's length, stay numbers.
 */

/** The later of two positions (Math.max takes numbers only). */
export function maxPosition(a: bigint, b: bigint): bigint {
  return a > b ? a : b;
}

/** The largest position any store can hold: PostgreSQL's bigint. */
export const maxStorablePosition = 2n ** 63n - 1n;

/**
 * Refuses (ValidationError) anything but a position a store can hold, 0n to maxStorablePosition:
 * no event can ever be at any other, so waiting for one would only run out its timeout.
 */
export function assertStorablePosition(value: unknown, field: string): asserts value is bigint {
  if (typeof value !== 'bigint' || value < 0n || value > maxStorablePosition) {
    throw new ValidationError(`${field} must be a bigint from 0n to ${maxStorablePosition}n`, { field });
  }
}

/**
 * A position sent as text (JSON, a query parameter, a header, a CLI argument): decimal digits
 * only, any size up to maxStorablePosition. Undefined for anything else, for the caller to refuse.
 */
export function parsePosition(text: string): bigint | undefined {
  if (!/^[0-9]{1,19}$/.test(text)) return undefined;
  const position = BigInt(text);
  return position <= maxStorablePosition ? position : undefined;
}

/** JSON text of a value that may hold positions: JSON has no bigint, so they go as decimal strings. */
export function stringifyWithPositions(value: unknown): string {
  return JSON.stringify(value, (_key, item) => (typeof item === 'bigint' ? String(item) : item));
}
