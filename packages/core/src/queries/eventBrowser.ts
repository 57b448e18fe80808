import type { RecordedEvent } from '../domain/event.js';
import type { EventStage } from '../versioning/eventStage.js';

/**
 * What an operator filters the global log by. Every field narrows the result (AND). `cursor` is
 * the `next` of the previous page: pages are KEYSET pages (a seek past the last row shown), never
 * OFFSET scans, so page 1,000 costs what page 1 costs on a log of any length.
 */
export interface EventQuery {
  /** One event type, as stored (`order.placed`). */
  type?: string;
  /** One stream category (the stream id's prefix before the first '-'). */
  category?: string;
  /** One stream: its events newest first. */
  streamId?: string;
  /** Recorded at or after this instant. */
  from?: Date;
  /** Recorded strictly before this instant. */
  to?: Date;
  /** `metadata.correlationId` equals this. */
  correlationId?: string;
  /** `metadata.causationId` equals this (what an event or a command caused). */
  causationId?: string;
  /** Events per page: 1..1000, default 50. */
  limit?: number;
  /** Opaque: the `next` of the page before. */
  cursor?: string;
}

/** One page, newest first. */
export interface EventPage {
  events: RecordedEvent[];
  /** The cursor of the following (older) page; absent on the last page. */
  next?: string;
}

/**
 * An event's place in its conversation: what caused it (following `metadata.causationId` to
 * earlier events, nearest first) and what it caused (events whose causationId is its id,
 * breadth first with their depth), and the events sharing its correlation id.
 */
export interface EventChain {
  event: RecordedEvent;
  /** The causes, nearest first, as far as they are events in this store. */
  causes: RecordedEvent[];
  /** The effects, breadth first: depth 1 are caused by `event` itself. */
  effects: Array<{ event: RecordedEvent; depth: number }>;
  /** Events sharing `event`'s correlation id, in log order (empty without one). */
  correlated: RecordedEvent[];
  /** True when a list above was cut at its limit. */
  truncated: boolean;
}

export interface StreamQuery {
  /** Only streams of this category. */
  category?: string;
  /** Streams per page: 1..1000, default 50. */
  limit?: number;
  /** Opaque: the `next` of the page before. */
  cursor?: string;
}

export interface StreamSummary {
  streamId: string;
  category: string;
  /** Events the stream holds now. */
  eventCount: number;
  /** Version of its last event. */
  lastVersion: number;
  /** When its last event was recorded. */
  lastRecordedAt: Date;
}

/** Streams in stream id order. */
export interface StreamPage {
  streams: StreamSummary[];
  next?: string;
}

/**
 * A range of the global log to count: positions `after < position <= upTo`, counted up to
 * `limit`. Positions are sparse on PostgreSQL, so the number of events between two positions is
 * counted, never subtracted.
 */
export interface EventCountRange {
  /** Exclusive lower bound (a bigint ≥ 0n; 0n counts from the first event). */
  after: bigint;
  /**
   * Inclusive upper bound (a bigint ≥ 0n), e.g. a `store.headPosition()` read earlier: events
   * appended after it are not counted however fast they arrive. `upTo <= after` counts 0.
   */
  upTo: bigint;
  /** The count stops here (a whole number ≥ 1): the cost of one call stays bounded on a huge range. */
  limit: number;
}

/**
 * Read-only browsing of an event store for operators (the dashboard, `tidemark streams`,
 * `tidemark events`): the log newest first with filters, one event, its causation chain, the
 * streams. Each SQL adapter answers a page with one index seek (see its adapter for the plans);
 * the in-memory one scans, as befits test-sized logs.
 */
export interface EventBrowser {
  /** A page of the global log (or of a filtered view of it), newest first. */
  listEvents(query?: EventQuery): Promise<EventPage>;
  /** One event by id; undefined when no event has it. */
  getEvent(eventId: string): Promise<RecordedEvent | undefined>;
  /** The event and its causes, effects and correlated events; undefined when no event has the id. */
  getChain(eventId: string, options?: { limit?: number }): Promise<EventChain | undefined>;
  /** A page of streams with their counts and last version. */
  listStreams(query?: StreamQuery): Promise<StreamPage>;
  /**
   * How many events lie in the range, at most `range.limit`: stored events, one per appended
   * event (an upcaster splitting an event on read does not count twice). The SQL adapters count
   * entries of the position key without reading an event body (no decoding, no stages); the
   * in-memory one scans its log, as for every call. The dashboard's append rate comes from it.
   */
  countEvents(range: EventCountRange): Promise<number>;
}

export interface EventBrowserOptions {
  /**
   * The event store's stages (upcasting, decryption): pages then show events as every other
   * read path does — the latest version, personal fields decrypted or redacted. Without them an
   * SQL browser shows the rows as stored (older versions, encrypted fields as their envelopes).
   */
  stages?: readonly EventStage[];
}
