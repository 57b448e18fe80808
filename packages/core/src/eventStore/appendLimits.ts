import { ValidationError } from '../domain/errors.js';

/** Size caps that protect the store from runaway payloads. */
export interface AppendLimits {
  /** Largest serialised event (data + metadata), in bytes. Default 1 MiB. */
  maxEventBytes: number;
  /** Largest serialised append, in bytes. Default 16 MiB. */
  maxAppendBytes: number;
}

export const defaultAppendLimits: AppendLimits = {
  maxEventBytes: 1024 * 1024,
  maxAppendBytes: 16 * 1024 * 1024,
};

/** Every size compared with NaN is "not too large", so a NaN cap would silently be no cap; a cap below 1 would refuse every append. */
function isLimit(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 1;
}

function limit(value: unknown, name: keyof AppendLimits): number {
  if (value === undefined) return defaultAppendLimits[name];
  if (!isLimit(value)) {
    throw new ValidationError(`limits.${name} must be a whole number of bytes ≥ 1`, { field: `limits.${name}` });
  }
  return value;
}

/**
 * A store's limits: the caller's over the defaults, each a whole number ≥ 1, else a
 * ValidationError. Every store resolves its `limits` option with this when it is created.
 */
export function resolveAppendLimits(limits: Partial<AppendLimits> | undefined): AppendLimits {
  // What a store resolved when it was made comes back on every append: nothing to copy then.
  if (limits && isLimit(limits.maxEventBytes) && isLimit(limits.maxAppendBytes)) return limits as AppendLimits;
  if (limits !== undefined && (limits === null || typeof limits !== 'object')) {
    throw new ValidationError('limits must be an object', { field: 'limits' });
  }
  return { maxEventBytes: limit(limits?.maxEventBytes, 'maxEventBytes'), maxAppendBytes: limit(limits?.maxAppendBytes, 'maxAppendBytes') };
}
