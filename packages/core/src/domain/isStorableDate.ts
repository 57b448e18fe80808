/**
 * The instants a store can keep: years 1 to 9999 (UTC). PostgreSQL's timestamptz has no year 0
 * and refuses JavaScript's extended years (±YYYYYY), and inside this range the ISO text of every
 * instant has the same width, so it sorts as it compares wherever it is stored as text.
 */
export const minStorableTime = Date.parse('0001-01-01T00:00:00.000Z');
export const maxStorableTime = Date.parse('9999-12-31T23:59:59.999Z');

/** A valid Date within {@link minStorableTime} … {@link maxStorableTime}. */
export function isStorableDate(value: unknown): value is Date {
  if (!(value instanceof Date)) return false;
  const time = value.getTime();
  // NaN (an invalid Date) fails both comparisons.
  return time >= minStorableTime && time <= maxStorableTime;
}
