import type { RecordedEvent } from '../domain/event.js';
import type { EventStore, LogPage, ReadPageOptions, StoreTransaction } from '../eventStore/eventStore.js';
import { logPage } from '../eventStore/logPage.js';

/** The store's own `readPage`, or for a store without it the head and then a `readAll` page. */
export async function readLogPage<Tx extends StoreTransaction>(store: EventStore<Tx>, options: ReadPageOptions): Promise<LogPage> {
  if (store.readPage) return store.readPage(options);
  // The head first: every event at or below it is readable now, so once the page is exhausted
  // the reader has seen everything up to it (positions may be sparse).
  const head = await store.headPosition({ readYourWrites: options.readYourWrites ?? true });
  const events: RecordedEvent[] = [];
  for await (const event of store.readAll({ ...options, batchSize: options.limit })) events.push(event);
  const last = events.length > 0 ? (events[events.length - 1] as RecordedEvent).position : 0n;
  // Events stand in for the stored rows only the store can count: a page whose events an
  // upcaster split still reads as full, but one whose events a stage dropped looks short.
  return logPage(events, events.length, options.limit, head, last);
}
