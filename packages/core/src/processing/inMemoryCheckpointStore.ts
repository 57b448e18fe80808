import type { StoreTransaction } from '../eventStore/eventStore.js';
import { CheckpointConflictError, type CheckpointRecord, type CheckpointStore, type DeadLetter } from './checkpointStore.js';

interface Staged {
  records: Map<string, CheckpointRecord>;
  letters: DeadLetter[];
}

/**
 * Checkpoints for the in-memory store. Writes are staged per transaction and published in
 * `afterCommit`, so they share the fate of the read-model writes made in the same transaction.
 */
export function createInMemoryCheckpointStore(): CheckpointStore<StoreTransaction> {
  const records = new Map<string, CheckpointRecord>();
  const letters: DeadLetter[] = [];
  const staging = new WeakMap<StoreTransaction, Staged>();

  const stagedFor = (tx: StoreTransaction): Staged => {
    let staged = staging.get(tx);
    if (!staged) {
      const fresh: Staged = { records: new Map(), letters: [] };
      staged = fresh;
      staging.set(tx, fresh);
      tx.afterCommit(() => {
        for (const [name, record] of fresh.records) records.set(name, record);
        letters.push(...fresh.letters);
        staging.delete(tx);
      });
      tx.afterRollback(() => staging.delete(tx));
    }
    return staged;
  };
  const current = (name: string, tx: StoreTransaction) => staging.get(tx)?.records.get(name) ?? records.get(name);

  return {
    async setup() {},
    async load(name, tx) {
      const record = current(name, tx);
      return record && { ...record };
    },
    async save(name, expected, position, tx) {
      const record = current(name, tx);
      const actual = record?.position ?? 0n;
      if (actual !== expected || position < expected) throw new CheckpointConflictError(name, expected, record?.position);
      stagedFor(tx).records.set(name, { name, position, updatedAt: new Date() });
    },
    async recordFailure(name, failure, tx) {
      const record = current(name, tx) ?? { name, position: 0n, updatedAt: new Date() };
      const { failure: _old, ...rest } = record;
      stagedFor(tx).records.set(name, { ...rest, updatedAt: new Date(), ...(failure && { failure }) });
    },
    async reset(name, position, tx) {
      if ((current(name, tx)?.position ?? 0n) > position) return false;
      stagedFor(tx).records.set(name, { name, position, updatedAt: new Date() });
      return true;
    },
    async park(letter, tx) {
      stagedFor(tx).letters.push(letter);
    },
    async deadLetters(name, tx) {
      return [...letters, ...(staging.get(tx)?.letters ?? [])].filter((letter) => letter.projection === name);
    },
  };
}
