import { runAfterCommit, warnOnError } from '../eventStore/afterCommitCallbacks.js';
import { type AppendLimits, resolveAppendLimits } from '../eventStore/appendLimits.js';
import type { StoreTransaction } from '../eventStore/eventStore.js';
import type { Outbox, OutboxEntry } from './outbox.js';
import { type PreparedOutgoingMessage, prepareOutgoingMessages, rewrittenDataJson } from './outgoingMessage.js';

interface Row {
  sequence: bigint;
  prepared: PreparedOutgoingMessage;
  createdAt: Date;
  publishedAt?: Date;
}

interface Staged {
  added: PreparedOutgoingMessage[];
  published: Set<bigint>;
  deleted: Set<bigint>;
  /** New data of committed rows, by sequence. */
  rewritten: Map<bigint, string>;
}

const entry = (row: Row): OutboxEntry => ({
  sequence: row.sequence,
  createdAt: row.createdAt,
  message: {
    id: row.prepared.id,
    type: row.prepared.type,
    schemaVersion: row.prepared.schemaVersion,
    key: row.prepared.key,
    data: JSON.parse(row.prepared.dataJson),
    headers: JSON.parse(row.prepared.headersJson),
    occurredAt: new Date(row.prepared.occurredAt),
  },
});

/**
 * The outbox of the in-memory store: writes are staged per transaction and take effect in
 * `afterCommit`, so they share the fate of the state change made in the same transaction.
 */
export function createInMemoryOutbox(options: { limits?: Pick<AppendLimits, 'maxEventBytes'> } = {}): Outbox<StoreTransaction> {
  const limits = resolveAppendLimits(options.limits);
  const rows: Row[] = [];
  let nextSequence = 1n;
  const staging = new WeakMap<StoreTransaction, Staged>();
  const listeners = new Set<() => void>();

  const stagedFor = (tx: StoreTransaction): Staged => {
    let staged = staging.get(tx);
    if (!staged) {
      const fresh: Staged = { added: [], published: new Set(), deleted: new Set(), rewritten: new Map() };
      staged = fresh;
      staging.set(tx, fresh);
      tx.afterCommit(() => {
        staging.delete(tx);
        const now = tx.clock.now();
        for (const row of rows) {
          if (fresh.published.has(row.sequence) && !row.publishedAt) row.publishedAt = now;
          const dataJson = fresh.rewritten.get(row.sequence);
          if (dataJson !== undefined) row.prepared = { ...row.prepared, dataJson };
        }
        for (let i = rows.length - 1; i >= 0; i--) if (fresh.deleted.has((rows[i] as Row).sequence)) rows.splice(i, 1);
        for (const prepared of fresh.added) rows.push({ sequence: nextSequence++, prepared, createdAt: now });
        if (fresh.added.length > 0) runAfterCommit([...listeners], warnOnError, 'outbox listener failed');
      });
      tx.afterRollback(() => staging.delete(tx));
    }
    return staged;
  };

  return {
    async add(tx, messages) {
      const prepared = prepareOutgoingMessages(messages, tx.clock.now(), limits);
      if (prepared.length > 0) stagedFor(tx).added.push(...prepared);
    },
    async pending(tx, { limit, exclude }) {
      const staged = staging.get(tx);
      const found: OutboxEntry[] = [];
      for (const row of rows) {
        if (found.length >= limit) break;
        if (row.publishedAt || staged?.published.has(row.sequence) || exclude?.has(row.sequence)) continue;
        found.push(entry(row));
      }
      return found;
    },
    async markPublished(tx, sequences) {
      const staged = stagedFor(tx);
      for (const sequence of sequences) staged.published.add(sequence);
    },
    async deletePublished(tx, before, limit) {
      const staged = stagedFor(tx);
      let count = 0;
      for (const row of rows) {
        if (count >= limit) break;
        if (row.publishedAt && row.publishedAt < before && !staged.deleted.has(row.sequence)) {
          staged.deleted.add(row.sequence);
          count++;
        }
      }
      return count;
    },
    async rewriteData(tx, types, rewrite) {
      const wanted = new Set(types);
      if (wanted.size === 0) return 0;
      const staged = stagedFor(tx);
      let count = 0;
      for (const row of rows) {
        if (!wanted.has(row.prepared.type) || staged.deleted.has(row.sequence)) continue;
        const stored = staged.rewritten.get(row.sequence) ?? row.prepared.dataJson;
        const dataJson = rewrittenDataJson(entry({ ...row, prepared: { ...row.prepared, dataJson: stored } }).message, stored, rewrite);
        if (dataJson === undefined) continue;
        staged.rewritten.set(row.sequence, dataJson);
        count++;
      }
      // Messages added in this same transaction are not rows yet: rewritten where they wait.
      staged.added.forEach((prepared, index) => {
        if (!wanted.has(prepared.type)) return;
        const dataJson = rewrittenDataJson(
          entry({ sequence: 0n, prepared, createdAt: prepared.occurredAt }).message,
          prepared.dataJson,
          rewrite,
        );
        if (dataJson === undefined) return;
        staged.added[index] = { ...prepared, dataJson };
        count++;
      });
      return count;
    },
    async stats(tx) {
      const staged = staging.get(tx);
      const waiting = rows.filter((row) => !row.publishedAt && !staged?.published.has(row.sequence));
      const oldest = waiting[0];
      return { backlog: waiting.length, ...(oldest && { oldestUnpublishedAt: oldest.createdAt }), retained: rows.length - waiting.length };
    },
    onAdded(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
  };
}
