import { z } from 'zod';

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
 * Free text a client chooses (an owner's name, a cancellation reason): it is stored in events
 * and copied into read-model TEXT columns, where PostgreSQL refuses a NUL and no driver can
 * carry a lone surrogate. One such string must not be able to poison a read model, so it is
 * refused here: trimmed, 1..max UTF-16 units, well-formed Unicode, no control characters
 * (\p{Cc}: NUL, escape, line breaks inside the text) and no lone surrogates (\p{Cs} only
 * matches an unpaired one in a `u` regex).
 */
export const textSchema = (max: number) =>
  z
    .string()
    .trim()
    .min(1)
    .max(max)
    .regex(/^[^\p{Cc}\p{Cs}]*$/u, 'must be well-formed Unicode text without control characters');

/** Money as integer cents, capped far below Number.MAX_SAFE_INTEGER so sums stay exact. */
export const centsSchema = z.number().int().max(1_000_000_000_000);

export const quantitySchema = z.number().int().positive().max(1_000_000_000);

/** A path parameter set naming one entity. */
export const idParams = z.object({ id: idSchema });
