import { ValidationError } from '../domain/errors.js';

/** The longest delay a Node timer keeps: anything longer (and NaN, negatives) fires after 1 ms, with only a warning. */
export const maxTimeoutMs = 2_147_483_647;

/**
 * A wait's timeout, in milliseconds: a number from 0 to 2^31−1. setTimeout turns NaN, a
 * negative or anything longer into 1 ms, so a caller asking to wait an hour in the wrong unit
 * (or a week) would be told "not reached" at once instead of hearing what is wrong.
 */
export function assertTimeoutMs(value: unknown, field: string): asserts value is number {
  if (typeof value !== 'number' || !(value >= 0) || value > maxTimeoutMs) {
    throw new ValidationError(`${field} must be a number of milliseconds from 0 to ${maxTimeoutMs}`, { field });
  }
}
