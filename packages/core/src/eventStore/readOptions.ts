import { ValidationError } from '../domain/errors.js';
import { isWellFormed } from '../domain/isWellFormed.js';
import type { ReadAllOptions, ReadStreamOptions } from './eventStore.js';
import { assertStorablePosition } from './position.js';

function positiveInteger(value: unknown, what: string, min: number): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min) {
    throw new ValidationError(`${what} must be a whole number ≥ ${min}`, { field: what });
  }
  return value;
}

function position(value: unknown, what: string): bigint | undefined {
  if (value === undefined) return undefined;
  // Past the top no store can bind it: SQLite's driver throws a RangeError, PostgreSQL an out-of-range error.
  assertStorablePosition(value, what);
  return value;
}

export interface StreamRange {
  direction: 'forwards' | 'backwards';
  /** Inclusive bounds in storage order: low ≤ version ≤ high. */
  low: number;
  high: number;
  limit: number;
}

/** Normalises readStream options into an inclusive version range, whatever the direction. */
export function resolveStreamRange(options: ReadStreamOptions | undefined): StreamRange {
  const direction = options?.direction ?? 'forwards';
  if (direction !== 'forwards' && direction !== 'backwards') {
    throw new ValidationError(`direction must be 'forwards' or 'backwards'`, { field: 'direction' });
  }
  const from = positiveInteger(options?.from, 'from', 1);
  const to = positiveInteger(options?.to, 'to', 1);
  const limit = positiveInteger(options?.limit, 'limit', 1) ?? Number.MAX_SAFE_INTEGER;
  return direction === 'forwards'
    ? { direction, low: from ?? 1, high: to ?? Number.MAX_SAFE_INTEGER, limit }
    : { direction, low: to ?? 1, high: from ?? Number.MAX_SAFE_INTEGER, limit };
}

export interface AllRange {
  after: bigint;
  types: readonly string[] | undefined;
  categories: readonly string[] | undefined;
  limit: number;
  batchSize: number;
}

function names(value: unknown, what: string): readonly string[] | undefined {
  if (value === undefined) return undefined;
  if (!Array.isArray(value) || value.some((v) => typeof v !== 'string')) {
    throw new ValidationError(`${what} must be an array of strings`, { field: what });
  }
  // A lone surrogate would be changed to U+FFFD on its way to SQL and match another name; no
  // stored name holds U+0000 (appends refuse it), and PostgreSQL cannot even bind it.
  // Other control characters and bidirectional controls bind fine and simply match nothing new
  // (a name stored before the bidi rule still matches), so they are no error here.
  if (value.some((v) => !isWellFormed(v) || v.includes('\u0000'))) {
    throw new ValidationError(`${what} must be well-formed Unicode without U+0000 (NUL)`, { field: what });
  }
  return value;
}

export function resolveAllRange(options: ReadAllOptions | undefined): AllRange {
  return {
    after: position(options?.after, 'after') ?? 0n,
    types: names(options?.types, 'types'),
    categories: names(options?.categories, 'categories'),
    limit: positiveInteger(options?.limit, 'limit', 1) ?? Number.MAX_SAFE_INTEGER,
    batchSize: positiveInteger(options?.batchSize, 'batchSize', 1) ?? 500,
  };
}
