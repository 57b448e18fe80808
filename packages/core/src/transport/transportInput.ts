import { ValidationError } from '../domain/errors.js';
import { isStorableDate } from '../domain/isStorableDate.js';
import { assertValidName } from '../eventStore/prepareAppend.js';
import { toJson } from '../eventStore/toJson.js';
import type { ConsumeOptions, OutgoingMessage, StartFrom } from './transport.js';

/** ConsumeOptions with every default filled in, as the transports use them. */
export interface ResolvedConsumeOptions {
  readonly group: string;
  readonly types: readonly string[];
  readonly concurrency: number;
  readonly maxDeliveries: number;
  readonly retryDelayMs: (attempt: number) => number;
  readonly startFrom: StartFrom;
  readonly handlerTimeoutMs: number;
}

/** The port's default backoff: 100 ms × 2^(n-1), capped at 30 s. */
export function defaultRetryDelayMs(attempt: number): number {
  return Math.min(30_000, 100 * 2 ** Math.max(0, attempt - 1));
}

const namePattern = /^[A-Za-z0-9_-][A-Za-z0-9_.-]{0,199}$/;

/**
 * Group names and message types become broker names (JetStream subjects and durable names,
 * AMQP queue names and routing keys), so they are held to what every broker accepts: letters,
 * digits, `_`, `-`, and `.` as a separator (never leading), at most 200 characters.
 */
function checkName(value: unknown, what: string): string {
  if (typeof value !== 'string' || !namePattern.test(value) || value.includes('..') || value.endsWith('.')) {
    throw new ValidationError(`${what} must be 1–200 characters of letters, digits, '_', '-' and inner '.'`, { [what]: value });
  }
  return value;
}

/**
 * A group name as consume takes it. deadLetters and waiting check it too: a name is spliced into
 * a broker name there as well, and a JetStream subject wildcard ('*', '>') would match every
 * group's dead letters.
 */
export function checkGroupName(group: unknown): string {
  return checkName(group, 'group');
}

/** The `limit` of deadLetters: a whole number of at least 1 (default 1000); NaN or 0 would list nothing and look like no dead letters. */
export function deadLetterLimit(options: { limit?: number } | undefined): number {
  const limit = options?.limit ?? 1000;
  if (!Number.isSafeInteger(limit) || limit < 1) throw new ValidationError('limit must be a whole number of at least 1', { limit });
  return limit;
}

const startKinds = new Set(['new', 'all', 'sequence', 'time']);

export function resolveConsumeOptions(options: ConsumeOptions): ResolvedConsumeOptions {
  const group = checkGroupName(options.group);
  if (!Array.isArray(options.types) || options.types.length === 0) {
    throw new ValidationError('types must list at least one message type', { group });
  }
  const types = [...new Set(options.types.map((type) => checkName(type, 'type')))];
  const concurrency = options.concurrency ?? 1;
  if (!Number.isInteger(concurrency) || concurrency < 1 || concurrency > 10_000) {
    throw new ValidationError('concurrency must be an integer from 1 to 10000', { group, concurrency });
  }
  const maxDeliveries = options.maxDeliveries ?? 5;
  if (!Number.isInteger(maxDeliveries) || maxDeliveries < 1) {
    throw new ValidationError('maxDeliveries must be a positive integer', { group, maxDeliveries });
  }
  const startFrom = options.startFrom ?? { kind: 'new' };
  // A misspelt kind would otherwise start the group from now, silently skipping the history asked for.
  if (!startKinds.has(startFrom?.kind)) {
    throw new ValidationError("startFrom.kind must be 'new', 'all', 'sequence' or 'time'", { group, kind: startFrom?.kind });
  }
  if (startFrom.kind === 'sequence' && (typeof startFrom.sequence !== 'bigint' || startFrom.sequence < 1n)) {
    throw new ValidationError('startFrom.sequence must be a bigint of at least 1', { group });
  }
  // Brokers read the time as RFC 3339 text, which has four-digit years only.
  if (startFrom.kind === 'time' && !isStorableDate(startFrom.time)) {
    throw new ValidationError('startFrom.time must be a valid Date in the years 1 to 9999', { group });
  }
  const handlerTimeoutMs = options.handlerTimeoutMs ?? 300_000;
  // Beyond 2^31 - 1 ms a Node timer fires at once instead of late.
  if (!Number.isInteger(handlerTimeoutMs) || handlerTimeoutMs < 1 || handlerTimeoutMs > 2 ** 31 - 1) {
    throw new ValidationError('handlerTimeoutMs must be an integer from 1 to 2147483647', { group, handlerTimeoutMs });
  }
  const retryDelay = options.retryDelayMs ?? defaultRetryDelayMs;
  // A delay function that returns garbage must not turn into a hot retry loop or a timer overflow.
  const retryDelayMs = (attempt: number) => {
    const delay = retryDelay(attempt);
    return Number.isFinite(delay) ? Math.min(Math.max(0, Math.round(delay)), 2 ** 31 - 1) : 30_000;
  };
  return { group, types, concurrency, maxDeliveries, retryDelayMs, startFrom, handlerTimeoutMs };
}

/** An OutgoingMessage checked and with its payload serialised once, ready for any transport. */
export interface PreparedMessage {
  readonly message: OutgoingMessage;
  /** `data` as JSON text. */
  readonly json: string;
  readonly headers: Readonly<Record<string, string>>;
}

/**
 * Checks a whole batch before anything is published (bad input → ValidationError, nothing
 * sent): ids and keys non-empty strings, types broker-safe names, schema versions positive
 * integers, data plain JSON, headers strings.
 */
export function prepareMessages(messages: readonly OutgoingMessage[]): PreparedMessage[] {
  if (!Array.isArray(messages)) throw new ValidationError('publish takes an array of messages');
  // Checked before map, which skips the holes of a sparse array: a hole reads as an undefined
  // message here. (Array.from would visit them, but costs far more than map, measured.)
  for (let index = 0; index < messages.length; index++) {
    const message: unknown = messages[index];
    if (message === null || typeof message !== 'object') throw new ValidationError(`message ${index} is not an object`, { index });
  }
  return messages.map((message, index) => {
    const at = `message ${index}`;
    // The rule of the inbox, which records the id: a control character (CR LF would also end a
    // NATS header line) or a lone surrogate would make the message one no consumer can handle.
    assertValidName(message.id, `${at}: id`);
    checkName(message.type, 'type');
    // The rule an outbox add holds keys and header names to (a NUL, a CR LF, a lone surrogate or a
    // bidi control is refused there): a message published directly must not get past it.
    assertValidName(message.key, `${at}: key`);
    if (!Number.isInteger(message.schemaVersion) || message.schemaVersion < 1) {
      throw new ValidationError(`${at}: schemaVersion must be a positive integer`, { index, id: message.id });
    }
    if (message.occurredAt !== undefined && (!(message.occurredAt instanceof Date) || Number.isNaN(message.occurredAt.getTime()))) {
      throw new ValidationError(`${at}: occurredAt must be a valid Date`, { index, id: message.id });
    }
    const headers: Record<string, string> = {};
    for (const [name, value] of Object.entries(message.headers ?? {})) {
      assertValidName(name, `${at}: header name`);
      if (typeof value !== 'string') throw new ValidationError(`${at}: header '${name}' is not a string`, { index, id: message.id });
      headers[name] = value;
    }
    return { message, json: toJson(message.data, `${at} data`), headers };
  });
}
