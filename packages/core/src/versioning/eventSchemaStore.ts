import type { RecordedEvent } from '../domain/event.js';

/** One (type, version) as the schema registry stored with the events records it. */
export interface RegisteredEventSchema {
  type: string;
  version: number;
  /** sha-256 of the canonical JSON Schema; null when the schema cannot produce one (or the version has none). */
  fingerprint: string | null;
  /** The JSON Schema of the version's data, when its Standard Schema can produce one. */
  jsonSchema: unknown;
  /** Stamped by the store when it records the entry. */
  registeredAt?: Date;
}

/**
 * The schema registry's storage, kept in the event store's own database (a table of its
 * migrations) so that every process writing to the store checks against the same history.
 * Stores expose it as `store.eventSchemas`; `EventRegistry.registerWith(store)` uses it.
 */
export interface EventSchemaStore {
  /** Every registered (type, version), in type then version order. */
  list(): Promise<RegisteredEventSchema[]>;
  /** Records new entries in one transaction; an entry already registered (same type and version) is left as it is. */
  add(entries: readonly RegisteredEventSchema[]): Promise<void>;
  /**
   * The latest `limit` stored events of one type and schema version, newest first, read
   * through the store's stages (decrypted, upcast) as every reader sees them: the sample a new
   * version's schema is checked against.
   */
  sample(type: string, schemaVersion: number, limit: number): Promise<RecordedEvent[]>;
}
