import type { StoreTransaction } from '../eventStore/eventStore.js';
import type { Inbox, InboxConsumer } from './inbox.js';
import { assertInboxKey } from './inboxKey.js';

interface Staged {
  added: Map<string, Date>;
  expired: Set<string>;
}

const pair = (consumer: string, messageId: string) => `${consumer}\u0000${messageId}`;

/** The inbox of the in-memory store: records are staged per transaction and kept on commit. */
export function createInMemoryInbox(): Inbox<StoreTransaction> {
  const records = new Map<string, Date>();
  const staging = new WeakMap<StoreTransaction, Staged>();
  const stagedFor = (tx: StoreTransaction): Staged => {
    let staged = staging.get(tx);
    if (!staged) {
      const fresh: Staged = { added: new Map(), expired: new Set() };
      staged = fresh;
      staging.set(tx, fresh);
      tx.afterCommit(() => {
        staging.delete(tx);
        for (const key of fresh.expired) records.delete(key);
        for (const [key, at] of fresh.added) records.set(key, at);
      });
      tx.afterRollback(() => staging.delete(tx));
    }
    return staged;
  };
  const has = (tx: StoreTransaction, key: string) => {
    const staged = staging.get(tx);
    return staged?.added.has(key) || (records.has(key) && !staged?.expired.has(key));
  };
  return {
    async record(tx, consumer, messageId) {
      assertInboxKey(consumer, messageId);
      const key = pair(consumer, messageId);
      if (has(tx, key)) return false;
      stagedFor(tx).added.set(key, tx.clock.now());
      return true;
    },
    async has(tx, consumer, messageId) {
      assertInboxKey(consumer, messageId);
      return Boolean(has(tx, pair(consumer, messageId)));
    },
    async consumers(tx) {
      const staged = staging.get(tx);
      const byConsumer = new Map<string, InboxConsumer>();
      const visible = [...records].filter(([key]) => !staged?.expired.has(key)).concat([...(staged?.added ?? [])]);
      for (const [key, at] of visible) {
        const consumer = key.slice(0, key.indexOf('\u0000'));
        const found = byConsumer.get(consumer);
        if (!found) byConsumer.set(consumer, { consumer, records: 1, lastHandledAt: at });
        else {
          found.records++;
          if (at > found.lastHandledAt) found.lastHandledAt = at;
        }
      }
      return [...byConsumer.values()].sort((a, b) => (a.consumer < b.consumer ? -1 : a.consumer > b.consumer ? 1 : 0));
    },
    async expire(tx, before, limit) {
      const staged = stagedFor(tx);
      let count = 0;
      for (const [key, at] of records) {
        if (count >= limit) break;
        if (at < before && !staged.expired.has(key)) {
          staged.expired.add(key);
          count++;
        }
      }
      return count;
    },
  };
}
