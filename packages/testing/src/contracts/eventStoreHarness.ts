import type { AppendLimits, Clock, ErrorReporter, EventStage, EventStore } from '@tidemark/core';

/** What the contract asks of an adapter's store factory. */
export interface EventStoreHarnessOptions {
  /** recordedAt of every appended event comes from this clock. */
  clock?: Clock;
  /** Size caps, merged over the defaults (1 MiB per event, 16 MiB per append). */
  limits?: Partial<AppendLimits>;
  /** Receives failures of afterCommit callbacks and onAppended listeners. */
  onError?: ErrorReporter;
  /** The event pipeline: the adapter passes it to its factory's `stages` option. */
  stages?: readonly EventStage[];
}

/**
 * The one-line bridge between an adapter and the conformance contracts:
 * `eventStoreContract('sqlite', { create: (o) => Promise.resolve(createSqliteEventStore({ file: tmp(), ...o })) })`.
 */
export interface EventStoreHarness {
  /** A fresh, empty store (new file / new schema). Options must be honoured by the adapter. */
  create(options?: EventStoreHarnessOptions): Promise<EventStore>;
  /** Optional: release shared resources (pools, temp directories) after the suite. */
  teardown?(): Promise<void>;
}
