/**
 * Typed errors. Every error tidemark raises on purpose carries a stable `code` so that callers
 * (and the HTTP layer) can map it without string matching on messages.
 */
export type ErrorCode =
  | 'validation'
  | 'payload_too_large'
  | 'concurrency'
  | 'duplicate_event_id'
  | 'not_found'
  | 'rebuild_refused'
  | 'domain_rule'
  | 'unknown_message';

export class TidemarkError extends Error {
  readonly code: ErrorCode;
  readonly details: Record<string, unknown>;

  constructor(code: ErrorCode, message: string, details: Record<string, unknown> = {}, options?: ErrorOptions) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
    this.details = details;
  }
}

/** Input that can never succeed as given: a bad stream id, malformed data, an unknown option. */
export class ValidationError extends TidemarkError {
  constructor(message: string, details: Record<string, unknown> = {}, options?: ErrorOptions) {
    super('validation', message, details, options);
  }
}

/** An event or an append over the configured size cap. */
export class PayloadTooLargeError extends TidemarkError {
  constructor(message: string, details: { limit: number; actual: number; index?: number }) {
    super('payload_too_large', message, details);
  }
}

/** The stream was not at the version the writer expected: someone else wrote first. */
export class ConcurrencyError extends TidemarkError {
  readonly streamId: string;
  readonly expected: string | number;
  readonly actual: number;

  constructor(streamId: string, expected: string | number, actual: number) {
    super('concurrency', `Stream '${streamId}' expected version ${String(expected)} but is at version ${actual}`, {
      streamId,
      expected,
      actual,
    });
    this.streamId = streamId;
    this.expected = expected;
    this.actual = actual;
  }
}

/**
 * Event ids are unique across the store. Re-sending an identical batch is an idempotent
 * success; any other reuse of an id (a different stream, order or a partial overlap) is this.
 */
export class DuplicateEventIdError extends TidemarkError {
  constructor(streamId: string, eventId: string) {
    super(
      'duplicate_event_id',
      `Event id ${eventId} already exists and the batch appended to '${streamId}' is not a retry of its original append`,
      {
        streamId,
        eventId,
      },
    );
  }
}

export class NotFoundError extends TidemarkError {
  constructor(message: string, details: Record<string, unknown> = {}) {
    super('not_found', message, details);
  }
}

/** A business rule said no (insufficient funds, placing an empty order…). Subclass it per rule. */
export class DomainError extends TidemarkError {
  constructor(message: string, details: Record<string, unknown> = {}) {
    super('domain_rule', message, details);
  }
}

/** A bus was asked to dispatch a message type no handler is registered for. */
export class UnknownMessageError extends TidemarkError {
  constructor(kind: 'command' | 'query', type: string) {
    super('unknown_message', `No ${kind} handler registered for '${type}'`, { kind, type });
  }
}
