import type { AppendResult } from '../eventStore/eventStore.js';

/**
 * Typed errors. Every error tidemark raises on purpose carries a stable `code` so that callers
 * (and the HTTP layer) can map it without string matching on messages.
 */
export type ErrorCode =
  | 'validation'
  | 'payload_too_large'
  | 'concurrency'
  | 'duplicate_event_id'
  | 'idempotency_conflict'
  | 'idempotency_key_reused'
  | 'nested_store_call'
  | 'store_busy'
  | 'not_found'
  | 'rebuild_refused'
  | 'domain_rule'
  | 'unknown_message'
  | 'positions_rebase_required'
  | 'permission_denied'
  | 'misconfigured'
  | 'connection_lost'
  | 'commit_outcome_unknown'
  | 'appended_but_unreadable'
  | 'transaction_conflict'
  | 'retries_exhausted'
  | 'transaction_limit'
  | 'stream_deleted'
  | 'stream_truncated';

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

/**
 * An append reused stored event ids as a retry would (same stream, same order) but with a
 * different payload: a retry must repeat the original events exactly, so this is a different
 * write under old ids, refused with nothing written.
 */
export class IdempotencyConflictError extends TidemarkError {
  constructor(streamId: string, eventId: string, field: 'type' | 'schemaVersion' | 'data' | 'metadata') {
    super(
      'idempotency_conflict',
      `Event id ${eventId} is already stored in '${streamId}' with a different ${field}: a retry must repeat the original event exactly`,
      { streamId, eventId, field },
    );
  }
}

/**
 * The store itself was called (not the `tx` handed to the work) inside one of its own
 * transactions. On a store with one writer that call would wait for the transaction that is
 * waiting for it, forever; everywhere it would run outside the unit of work.
 */
export class NestedStoreCallError extends TidemarkError {
  constructor(operation: string) {
    super(
      'nested_store_call',
      `store.${operation}() was called inside a transaction of the same store; it would wait for that transaction (or run outside it): use the transaction's tx instead`,
      { operation },
    );
  }
}

/** Another connection (another process) held the database's write lock for longer than the busy timeout. */
export class StoreBusyError extends TidemarkError {
  constructor(message: string, details: Record<string, unknown> = {}, options?: ErrorOptions) {
    super('store_busy', message, details, options);
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

/**
 * The database connection died (server restart, failover, a terminated session, a network path
 * gone silent past the timeouts) before the operation finished. Nothing it did in a
 * transaction was committed: the server rolls an open transaction back when its session ends,
 * so running the whole unit of work again is safe (`store.transaction(work, { retry })` does).
 */
export class ConnectionLostError extends TidemarkError {
  constructor(message: string, details: Record<string, unknown> = {}, options?: ErrorOptions) {
    super('connection_lost', message, details, options);
  }
}

/**
 * The connection died after COMMIT was sent and before its answer arrived (or a one-statement
 * append's answer was lost): the transaction may or may not have committed, and nobody can tell
 * from here. Neither afterCommit nor afterRollback callbacks ran. It is never retried
 * automatically. Appends with caller-supplied event ids are idempotent — re-sending the same
 * batch returns the original result instead of writing twice — so a unit of work whose appends
 * supply their ids (and whose other writes are idempotent, like an inbox row keyed by message
 * id) can simply be run again.
 */
export class CommitOutcomeUnknownError extends TidemarkError {
  constructor(message: string, details: Record<string, unknown> = {}, options?: ErrorOptions) {
    super('commit_outcome_unknown', message, details, options);
  }
}

/**
 * The append WAS committed — its events are stored and readers see them — but reading them back
 * through the store's read stages for the result failed (an upcaster threw, decryption could not
 * reach its key store). Do not append them again: the same events under new ids would be stored
 * twice, and with `expectedVersion` the retry conflicts with the append itself. (A retry with the
 * same event ids is safe: it returns the stored result.) `result` is the committed append, its
 * `events` left empty since they could not be read; `cause` is the stage's failure.
 */
export class AppendedButUnreadableError extends TidemarkError {
  readonly result: AppendResult;

  constructor(result: AppendResult, cause: unknown) {
    const reason = cause instanceof Error ? cause.message : String(cause);
    super(
      'appended_but_unreadable',
      `The append to '${result.streamId}' was committed (stream version ${result.nextExpectedVersion}, position ${result.position}), but reading its events back failed: ${reason}. Do not append them again.`,
      {
        streamId: result.streamId,
        nextExpectedVersion: result.nextExpectedVersion,
        position: String(result.position),
        written: result.written,
      },
      { cause },
    );
    this.result = { ...result, events: [] };
  }
}

/**
 * The database aborted the transaction to resolve a conflict with a concurrent one (a
 * serialization failure or a deadlock). Nothing was written; the whole unit of work succeeds
 * when run again.
 */
export class TransactionConflictError extends TidemarkError {
  constructor(message: string, details: Record<string, unknown> = {}, options?: ErrorOptions) {
    super('transaction_conflict', message, details, options);
  }
}

/**
 * A unit of work kept failing with retryable conflicts (or lost connections) until its retry
 * budget ran out: the system is busy, not the caller wrong. `cause` is the last failure;
 * `retryAfterMs` suggests when to try again (an HTTP 503 with Retry-After).
 */
export class RetriesExhaustedError extends TidemarkError {
  readonly attempts: number;
  readonly retryAfterMs: number;

  constructor(attempts: number, elapsedMs: number, retryAfterMs: number, cause: unknown) {
    const reason = cause instanceof TidemarkError ? cause.code : 'error';
    super(
      'retries_exhausted',
      `Gave up after ${attempts} attempts in ${elapsedMs} ms of retryable failures (last: ${reason}); try again later`,
      { attempts, elapsedMs, retryAfterMs, lastError: reason },
      { cause },
    );
    this.attempts = attempts;
    this.retryAfterMs = retryAfterMs;
  }
}

/**
 * The store's schema was migrated by a newer tidemark than this code. Writing into a layout this
 * code does not know could corrupt what the newer code relies on, so the store refuses to open
 * (and migrate refuses to touch it), with or without `migrate`: upgrade the code instead.
 */
export class SchemaTooNewError extends TidemarkError {
  readonly found: number;
  readonly supported: number;

  /** `where` names the store (`The SQLite file '…'`), `upgrade` the package to upgrade. */
  constructor(where: string, found: number, supported: number, upgrade: string, details: Record<string, unknown> = {}) {
    super(
      'validation',
      `${where} has tidemark schema version ${found}, newer than this code supports (${supported}); upgrade ${upgrade} to open it`,
      { ...details, found, supported },
    );
    this.found = found;
    this.supported = supported;
  }
}

/**
 * The store's schema is older than this code and the store was opened with `migrate: false`
 * (a role without DDL rights, say): run `tidemark migrate` (or open once with migrations on).
 */
export class SchemaBehindError extends TidemarkError {
  constructor(where: string, found: number, required: number) {
    super(
      'validation',
      `${where} is at tidemark schema version ${found}, this code needs ${required}; run \`tidemark migrate\` or open it with migrate: true`,
      { where, found, required },
    );
  }
}

/**
 * The database refused a statement because the role the store connects as lacks a privilege on
 * one of its objects (PostgreSQL's SQLSTATE 42501: USAGE on the schema, SELECT or INSERT on a
 * table, EXECUTE on a function, ownership for DDL). A deployment problem, not the caller's input:
 * running it again changes nothing until the privilege is granted (or the step runs as the owner).
 * `details.object` names the object when the database's message does.
 */
export class PermissionDeniedError extends TidemarkError {
  constructor(message: string, details: Record<string, unknown> = {}, options?: ErrorOptions) {
    super('permission_denied', message, details, options);
  }
}

/**
 * The store's options do not suit what it is connected through — say, named prepared statements
 * through a pooler that shares server connections between clients. Not transient and not the
 * caller's input: an operator changes the options (the message names which).
 */
export class StoreMisconfiguredError extends TidemarkError {
  constructor(message: string, details: Record<string, unknown> = {}, options?: ErrorOptions) {
    super('misconfigured', message, details, options);
  }
}

/**
 * A transaction went past a documented per-transaction limit of the adapter (for PostgreSQL,
 * the number of distinct streams it appends to, which bounds its locks). Nothing was written.
 */
export class TransactionLimitError extends TidemarkError {
  constructor(message: string, details: Record<string, unknown> = {}) {
    super('transaction_limit', message, details);
  }
}

/**
 * The named schema (or file) holds no tidemark store, and creating one was not asked for: a
 * typo must not silently start an empty store. Pass `createSchema: true` to create it.
 */
export class StoreNotFoundError extends TidemarkError {
  constructor(where: string) {
    super('not_found', `${where} holds no tidemark store; pass createSchema: true (--create-schema) to create one`, { where });
  }
}

/**
 * A command's idempotency key was used before with a different request: the key names one
 * request, so this is a client bug (a reused key), refused with nothing written (HTTP 422).
 */
export class IdempotencyKeyReusedError extends TidemarkError {
  constructor(scope: string, key: string) {
    super('idempotency_key_reused', `Idempotency key '${key}' was already used for a different request`, { scope, key });
  }
}
