import type { EventStore, StoreTransaction } from '../eventStore/eventStore.js';
import type { CheckpointStore } from '../processing/checkpointStore.js';
import { type SubscriptionBatch, subscribe } from '../processing/subscription.js';
import type { OutgoingMessage } from '../transport/transport.js';
import type { MessageMapper } from './messageMapper.js';
import type { Outbox } from './outbox.js';

/** A batch read from the relay's source, published, then confirmed. */
export interface RelayBatch<Tx extends StoreTransaction> {
  messages: OutgoingMessage[];
  /** In a fenced store transaction, after the transport acknowledged `messages`: mark them done. */
  confirm(tx: Tx): Promise<void>;
  /** After the confirmation committed. */
  confirmed(): void;
}

/** Where the relay reads from; one per holding of the lease (a restart makes a fresh one from what is stored). */
export interface RelayCursor<Tx extends StoreTransaction> {
  open(): Promise<void>;
  /** The next batch, or undefined after waiting (up to the poll interval) with nothing new. */
  next(): Promise<RelayBatch<Tx> | undefined>;
  stats(): Promise<{ backlog: number; oldestUnpublishedAt?: Date }>;
  /** Ends any subscription the cursor holds. */
  close(): Promise<void>;
}

/** Resolves when `wake` is called or after `ms`, or at once when `signal` is aborted. */
function sleep(ms: number, signal: AbortSignal, register: (wake: () => void) => void): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
    register(done);
  });
}

/**
 * The outbox table: every read asks for the oldest unpublished rows (never "after a cursor"),
 * so a row committed late with a lower sequence (PostgreSQL sequences are not commit-ordered
 * across keys) is still found; rows published but not yet confirmed are left out.
 */
export function createTableRelayCursor<Tx extends StoreTransaction>(options: {
  store: EventStore<Tx>;
  outbox: Outbox<Tx>;
  batchSize: number;
  pollIntervalMs: number;
  signal: AbortSignal;
}): RelayCursor<Tx> {
  const { store, outbox, batchSize, pollIntervalMs, signal } = options;
  const inFlight = new Set<bigint>();
  // Listens for the cursor's whole life, so an add committed between a read and the sleep is
  // not missed: the flag is set and the sleep is skipped.
  let added = false;
  let wake: (() => void) | undefined;
  let unsubscribe = () => {};
  return {
    async open() {
      unsubscribe = outbox.onAdded(() => {
        added = true;
        wake?.();
      });
    },
    async next() {
      added = false;
      // A copy, taken before the read: a batch confirmed while the read runs leaves the live set,
      // but the read's snapshot may predate that commit and still see its rows as unpublished.
      const exclude = new Set(inFlight);
      const entries = await store.transaction((tx) => outbox.pending(tx, { limit: batchSize, exclude }));
      if (entries.length === 0) {
        if (added) return undefined;
        try {
          await sleep(pollIntervalMs, signal, (done) => {
            wake = done;
          });
        } finally {
          wake = undefined;
        }
        return undefined;
      }
      const sequences = entries.map((entry) => entry.sequence);
      for (const sequence of sequences) inFlight.add(sequence);
      return {
        messages: entries.map((entry) => entry.message),
        confirm: (tx) => outbox.markPublished(tx, sequences),
        confirmed() {
          for (const sequence of sequences) inFlight.delete(sequence);
        },
      };
    },
    stats: () => store.transaction((tx) => outbox.stats(tx)),
    async close() {
      unsubscribe();
    },
  };
}

/** Counting the log's backlog reads events: past this many, the gauge says "at least". */
const backlogCountCap = 10_000;

/**
 * The event log as the outbox: a subscription from the relay's checkpoint, filtered to the
 * mapped event types. The checkpoint moves by compare-and-set, batch after batch.
 */
export function createLogRelayCursor<Tx extends StoreTransaction>(options: {
  store: EventStore<Tx>;
  name: string;
  checkpoints: CheckpointStore<Tx>;
  mapper: MessageMapper;
  batchSize: number;
  pollIntervalMs: number;
  signal: AbortSignal;
}): RelayCursor<Tx> {
  const { store, name, checkpoints, mapper, batchSize, pollIntervalMs, signal } = options;
  let iterator: AsyncGenerator<SubscriptionBatch, void, undefined> | undefined;
  /** The checkpoint the next confirmation moves from. */
  let read = 0n;
  const load = async () => (await store.transaction((tx) => checkpoints.load(name, tx)))?.position ?? 0n;
  return {
    async open() {
      read = await load();
      // No types means every event; a mapper with no mappings publishes nothing at all.
      const types = mapper.eventTypes.length > 0 ? mapper.eventTypes : ['\u0000none'];
      iterator = subscribe(store, { after: read, batchSize, pollIntervalMs, signal, types });
    },
    async next() {
      const step = await (iterator as AsyncGenerator<SubscriptionBatch>).next();
      if (step.done) return undefined;
      const batch = step.value;
      if (batch.checkpoint === read) return undefined;
      const from = read;
      read = batch.checkpoint;
      const messages: OutgoingMessage[] = [];
      for (const event of batch.events) {
        const message = mapper.map(event);
        if (message) messages.push(message);
      }
      return {
        messages,
        confirm: (tx) => checkpoints.save(name, from, batch.checkpoint, tx),
        confirmed() {},
      };
    },
    async stats() {
      const after = await load();
      let backlog = 0;
      let oldestUnpublishedAt: Date | undefined;
      if (mapper.eventTypes.length > 0) {
        for await (const event of store.readAll({ after, types: mapper.eventTypes, limit: backlogCountCap, batchSize: 1000 })) {
          oldestUnpublishedAt ??= event.recordedAt;
          backlog++;
        }
      }
      return { backlog, ...(oldestUnpublishedAt && { oldestUnpublishedAt }) };
    },
    async close() {
      await iterator?.return();
    },
  };
}
