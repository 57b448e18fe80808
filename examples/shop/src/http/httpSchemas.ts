import { z } from 'zod';
import { cleanTextPattern } from '../shared/cleanText.js';

/**
 * Identifiers that become part of a stream id: short, printable, no separators that could be
 * confused with the stream category (the part before the first '-' is ours, not the client's).
 */
export const idSchema = z
  .string()
  .min(1)
  .max(64)
  .regex(/^[A-Za-z0-9][A-Za-z0-9_.:-]*$/, 'must start with a letter or digit and contain only letters, digits, _ . : -');

/**
 * Free text (an owner, a reason), trimmed: clean text as cleanText.ts defines it, or a 400. Its
 * length is in UTF-16 units, as the deciders count it (isCleanText): zod's max counts code
 * points, so 101 emoji passed max(200) here and came back a 422 from the decider.
 */
export const textSchema = (max: number) =>
  z
    .string()
    .trim()
    .min(1)
    .refine((text) => text.length <= max, `Too big: expected at most ${max} UTF-16 code units`)
    .regex(cleanTextPattern, 'must be well-formed Unicode text without control characters');

/** Money as integer cents, capped far below Number.MAX_SAFE_INTEGER so sums stay exact. */
export const centsSchema = z.number().int().max(1_000_000_000_000);

export const quantitySchema = z.number().int().positive().max(1_000_000_000);

/** The body of a command whose path says it all: none, or an empty object; anything else is a 400, not ignored. */
export const noBody = z.strictObject({}).optional();

/** A path parameter set naming one entity. */
export const idParams = z.object({ id: idSchema });
