/**
 * Free text a client chooses (an owner's name, a cancellation reason) goes into events and into
 * read-model TEXT columns, where PostgreSQL refuses a NUL and no driver can carry a lone
 * surrogate: one such string would stop a read model. Clean text is well-formed Unicode without
 * control characters (\p{Cc}: NUL, escapes, line breaks); in a `u` regex \p{Cs} matches only an
 * unpaired surrogate, so emoji (surrogate pairs) pass.
 */
export const cleanTextPattern = /^[^\p{Cc}\p{Cs}]*$/u;

/** Clean, already trimmed text of 1..max UTF-16 units: what the HTTP edge lets through, checked again by the deciders. */
export const isCleanText = (value: unknown, max: number): value is string =>
  typeof value === 'string' && value.length >= 1 && value.length <= max && value.trim() === value && cleanTextPattern.test(value);
