import { ValidationError } from '../domain/errors.js';
import { isSchemaVersion, maxSchemaVersion } from '../domain/isSchemaVersion.js';
import { isStorableDate } from '../domain/isStorableDate.js';
import { maxStorablePosition } from '../eventStore/position.js';
import { assertValidName, assertValidStreamId } from '../eventStore/prepareAppend.js';
import type { Snapshot, SnapshotQuery } from './snapshotStore.js';

const wholeNumber = (value: unknown, min: number) => typeof value === 'number' && Number.isSafeInteger(value) && value >= min;

/** What every snapshot store checks before writing, so a bad snapshot is refused alike everywhere. */
export function checkSnapshot(snapshot: Snapshot): void {
  if (snapshot === null || typeof snapshot !== 'object') throw new ValidationError('A snapshot must be an object');
  assertValidStreamId(snapshot.streamId);
  assertValidName(snapshot.name, 'snapshot name');
  if (!wholeNumber(snapshot.streamVersion, 1))
    throw new ValidationError('streamVersion must be a whole number ≥ 1', { field: 'streamVersion' });
  if (!isSchemaVersion(snapshot.schemaVersion))
    throw new ValidationError(`schemaVersion must be a whole number from 1 to ${maxSchemaVersion}`, { field: 'schemaVersion' });
  if (typeof snapshot.position !== 'bigint' || snapshot.position < 1n || snapshot.position > maxStorablePosition) {
    throw new ValidationError(`position must be a bigint from 1n to ${maxStorablePosition}n`, { field: 'position' });
  }
  if (!isStorableDate(snapshot.recordedAt)) {
    throw new ValidationError('recordedAt must be a valid Date in the years 1 to 9999', { field: 'recordedAt' });
  }
  if (!(snapshot.payload instanceof Uint8Array)) throw new ValidationError('payload must be a Uint8Array', { field: 'payload' });
}

export function checkSnapshotQuery(query: SnapshotQuery | undefined): void {
  if (query?.maxVersion !== undefined && !wholeNumber(query.maxVersion, 0)) {
    throw new ValidationError('maxVersion must be a whole number ≥ 0', { field: 'maxVersion' });
  }
  const asOf = query?.asOf;
  if (asOf !== undefined && (!(asOf instanceof Date) || Number.isNaN(asOf.getTime()))) {
    throw new ValidationError('asOf must be a valid Date', { field: 'asOf' });
  }
}
