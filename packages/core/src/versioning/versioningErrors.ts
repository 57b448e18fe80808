import { ValidationError } from '../domain/errors.js';

/** One failed check of a Standard Schema, with the path into the event's data. */
export interface SchemaIssue {
  /** Dotted path into `data` (`items.0.price`); '' for the data itself. */
  path: string;
  message: string;
}

/** An event's data does not match the schema of its type and version. Nothing was written. */
export class EventSchemaError extends ValidationError {
  constructor(
    where: { type: string; schemaVersion: number; index?: number; streamId?: string; eventId?: string },
    issues: readonly SchemaIssue[],
  ) {
    const first = issues[0];
    const at = first ? ` at ${first.path === '' ? '(root)' : first.path}: ${first.message}` : '';
    const which = where.index === undefined ? `Event ${where.eventId ?? ''}`.trim() : `Event ${where.index}`;
    super(`${which} (${where.type} v${where.schemaVersion}) fails its schema${at}`, { ...where, issues });
  }
}

/**
 * An event type or version the registry does not know: refused on append while the registry
 * is strict (an unregistered type) or always (a version newer than the registered ones), and
 * on read when a stored event is newer than this code understands (deploy the newer code).
 */
export class UnknownEventTypeError extends ValidationError {
  constructor(message: string, details: { type: string; schemaVersion?: number; index?: number; streamId?: string; eventId?: string }) {
    super(message, details);
  }
}

/** A registration that cannot form one chain per type: a missing version, a step declared twice, an upcaster going nowhere. */
export class UpcasterChainError extends ValidationError {
  constructor(message: string, details: { type: string; [key: string]: unknown }) {
    super(message, details);
  }
}

/** What one stored event (or one older version) tells against a new schema version. */
export interface CompatibilityFailure {
  type: string;
  /** The new version that cannot read it. */
  version: number;
  /** The older version it was written as. */
  fromVersion: number;
  eventId?: string;
  reason: string;
  issues?: readonly SchemaIssue[];
}

/**
 * A schema version cannot be registered with the store: it cannot read events of an older
 * version (no upcaster leads there and stored events fail it), or the same (type, version) is
 * already registered with a different schema. Nothing was registered.
 */
export class IncompatibleSchemaError extends ValidationError {
  readonly failures: readonly CompatibilityFailure[];

  constructor(failures: readonly CompatibilityFailure[]) {
    const first = failures[0];
    const summary = first ? `: ${first.type} v${first.version} (from v${first.fromVersion}) ${first.reason}` : '';
    const more = failures.length > 1 ? ` and ${failures.length - 1} more` : '';
    super(`Schema registration refused${summary}${more}`, { failures });
    this.failures = failures;
  }
}
