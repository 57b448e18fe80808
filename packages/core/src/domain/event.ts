/**
 * The event envelope. A domain event is `{ type, data }`; the store wraps it into a
 * RecordedEvent with identity, position and metadata.
 */
export interface EventMetadata {
  correlationId?: string;
  causationId?: string;
  userId?: string;
  service?: string;
  serviceVersion?: string;
  traceparent?: string;
  tenantId?: string;
  [key: string]: unknown;
}

/** What a domain produces: a past-tense type and its JSON data. */
export interface DomainEvent<Type extends string = string, Data = unknown> {
  type: Type;
  data: Data;
  /** Schema version of `data` when a decider emits a newer shape; 1 when absent. */
  schemaVersion?: number;
}

/** An event handed to `appendToStream`. Supplying `id` makes a retried append idempotent. */
export interface NewEvent<E extends DomainEvent = DomainEvent> {
  type: E['type'];
  data: E['data'];
  /** UUID; generated (v7, time-ordered) when absent. */
  id?: string;
  /** Schema version of `data`; 1 when absent. */
  schemaVersion?: number;
  metadata?: EventMetadata;
}

/** An event as stored: immutable, with its per-stream version and global position. */
export interface RecordedEvent<E extends DomainEvent = DomainEvent> {
  id: string;
  type: E['type'];
  schemaVersion: number;
  streamId: string;
  /** 1-based, contiguous within the stream. */
  version: number;
  /**
   * Global position: unique and strictly increasing in `readAll` order. Dense in the
   * embedded stores; PostgreSQL leaves gaps (it encodes the writing transaction) and passes
   * 2^53, hence a bigint.
   */
  position: bigint;
  recordedAt: Date;
  data: E['data'];
  metadata: EventMetadata;
}

/** `order.created` with schema version 2 is also written `order.created.v2`. */
export function qualifiedEventType(type: string, schemaVersion: number): string {
  return `${type}.v${schemaVersion}`;
}

/** Inverse of {@link qualifiedEventType}; a name without a `.vN` suffix is version 1. */
export function parseQualifiedEventType(name: string): { type: string; schemaVersion: number } {
  const match = /^(.*)\.v([1-9]\d*)$/.exec(name);
  if (!match?.[1]) return { type: name, schemaVersion: 1 };
  return { type: match[1], schemaVersion: Number(match[2]) };
}

/** The stream category is the part of the stream id before the first '-': `account-42` → `account`. */
export function streamCategory(streamId: string): string {
  const dash = streamId.indexOf('-');
  return dash === -1 ? streamId : streamId.slice(0, dash);
}
