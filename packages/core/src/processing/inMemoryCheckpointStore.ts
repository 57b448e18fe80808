import type { StoreTransaction } from '../eventStore/eventStore.js';
import {
  CheckpointConflictError,
  type CheckpointRecord,
  type CheckpointStore,
  type DeadLetter,
  type FailedEvent,
} from './checkpointStore.js';
import { failureText } from './failureText.js';

interface Staged {
  records: Map<string, CheckpointRecord>;
  letters: DeadLetter[];
  /** Dead letters removed in this transaction, as `projection\0position` keys. */
  removed: Set<string>;
}

const letterKey = (projection: string, position: bigint) => `${projection}\u0000${position}`;

/**
 * Checkpoints for the in-memory store. Writes are staged per transaction and published in
 * `afterCommit`, so they share the fate of the read-model writes made in the same transaction.
 */
export function createInMemoryCheckpointStore(): CheckpointStore<StoreTransaction> {
  const records = new Map<string, CheckpointRecord>();
  let letters: DeadLetter[] = [];
  const staging = new WeakMap<StoreTransaction, Staged>();

  const stagedFor = (tx: StoreTransaction): Staged => {
    let staged = staging.get(tx);
    if (!staged) {
      const fresh: Staged = { records: new Map(), letters: [], removed: new Set() };
      staged = fresh;
      staging.set(tx, fresh);
      tx.afterCommit(() => {
        for (const [name, record] of fresh.records) records.set(name, record);
        letters = [...letters, ...fresh.letters].filter((letter) => !fresh.removed.has(letterKey(letter.projection, letter.position)));
        staging.delete(tx);
      });
      tx.afterRollback(() => staging.delete(tx));
    }
    return staged;
  };
  const current = (name: string, tx: StoreTransaction) => staging.get(tx)?.records.get(name) ?? records.get(name);
  const visibleLetters = (tx: StoreTransaction) => {
    const staged = staging.get(tx);
    return [...letters, ...(staged?.letters ?? [])].filter((letter) => !staged?.removed.has(letterKey(letter.projection, letter.position)));
  };
  const allRecords = (tx: StoreTransaction) => {
    const merged = new Map(records);
    for (const [name, record] of staging.get(tx)?.records ?? []) merged.set(name, record);
    return [...merged.values()];
  };

  return {
    async setup() {},
    async load(name, tx) {
      const record = current(name, tx);
      return record && { ...record };
    },
    async list(tx) {
      return allRecords(tx)
        .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
        .map((record) => ({ ...record }));
    },
    async save(name, expected, position, tx) {
      const record = current(name, tx);
      const actual = record?.position ?? 0n;
      if (actual !== expected || position < expected) throw new CheckpointConflictError(name, expected, record?.position);
      stagedFor(tx).records.set(name, { name, position, updatedAt: tx.clock.now() });
    },
    async recordFailure(name, failure, tx) {
      const record = current(name, tx) ?? { name, position: 0n, updatedAt: tx.clock.now() };
      const { failure: _old, ...rest } = record;
      stagedFor(tx).records.set(name, {
        ...rest,
        updatedAt: tx.clock.now(),
        ...(failure && { failure: { ...failure, message: failureText(failure.message) } }),
      });
    },
    async reset(name, position, tx) {
      if ((current(name, tx)?.position ?? 0n) > position) return false;
      stagedFor(tx).records.set(name, { name, position, updatedAt: tx.clock.now() });
      return true;
    },
    async park(letter, tx) {
      stagedFor(tx).letters.push({ ...letter, message: failureText(letter.message) });
    },
    async deadLetters(name, tx) {
      return visibleLetters(tx).filter((letter) => letter.projection === name);
    },
    async failedEvents(tx, name) {
      const failed = allRecords(tx).flatMap((record): FailedEvent[] => {
        const { failure } = record;
        if (!failure || (name !== undefined && record.name !== name)) return [];
        const { failedAt, ...rest } = failure;
        return [{ projection: record.name, status: 'failed', ...rest, at: failedAt }];
      });
      const parked = visibleLetters(tx)
        .filter((letter) => name === undefined || letter.projection === name)
        .map(
          (letter): FailedEvent => ({
            projection: letter.projection,
            status: 'parked',
            position: letter.position,
            eventId: letter.eventId,
            eventType: letter.eventType,
            streamId: letter.streamId,
            message: letter.message,
            attempts: letter.attempts,
            at: letter.parkedAt,
          }),
        );
      return [...failed, ...parked].sort((a, b) =>
        a.projection === b.projection
          ? a.position < b.position
            ? -1
            : a.position > b.position
              ? 1
              : 0
          : a.projection < b.projection
            ? -1
            : 1,
      );
    },
    async removeDeadLetter(projection, position, tx) {
      if (!visibleLetters(tx).some((letter) => letter.projection === projection && letter.position === position)) return false;
      stagedFor(tx).removed.add(letterKey(projection, position));
      return true;
    },
  };
}
