import type { EventStore, KeyStore } from '@tidemark/core';

/** The bridge from an adapter to the key-store contract: fresh storage, its store, and key stores on it. */
export interface KeyStoreHarness {
  create(): Promise<{
    /** The event log the keys belong to (forget searches it and appends to it). */
    store: EventStore;
    keyStore: KeyStore;
    /**
     * A second key store on the same storage — another connection, standing for another
     * process. The in-memory adapter has no other process: it hands the same one back.
     */
    openAnother(): Promise<KeyStore>;
  }>;
  teardown?(): Promise<void>;
}
