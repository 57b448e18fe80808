import { ValidationError } from '../domain/errors.js';
import { assertValidName } from '../eventStore/prepareAppend.js';
import type { DeadLetteredMessage, DeliveredMessage } from './transport.js';
import type { PreparedMessage } from './transportInput.js';

/**
 * The wire form of a message on a broker: one JSON document with the envelope beside the data
 * (a structured message, like a CloudEvent), so a message is self-describing whatever the
 * broker's header rules are (NATS headers are ASCII lines, AMQP headers are typed tables).
 */
export function encodeEnvelope(prepared: PreparedMessage, publishedAt: Date): string {
  const { message, json, headers } = prepared;
  const head = JSON.stringify({
    id: message.id,
    type: message.type,
    schemaVersion: message.schemaVersion,
    key: message.key,
    occurredAt: (message.occurredAt ?? publishedAt).toISOString(),
    headers,
  });
  // `data` is spliced in as already-serialised JSON: serialising once per message matters at relay rates.
  return `${head.slice(0, -1)},"data":${json}}`;
}

interface Envelope {
  id: string;
  type: string;
  schemaVersion: number;
  key: string;
  occurredAt: string;
  headers: Record<string, string>;
  data: unknown;
}

function isEnvelope(value: unknown): value is Envelope {
  const v = value as Envelope;
  return (
    typeof v === 'object' &&
    v !== null &&
    typeof v.id === 'string' &&
    typeof v.type === 'string' &&
    typeof v.key === 'string' &&
    typeof v.schemaVersion === 'number' &&
    typeof v.occurredAt === 'string' &&
    typeof v.headers === 'object' &&
    v.headers !== null
  );
}

/** How a message reached its consumer, as far as the broker tells. */
export interface Delivery {
  /** Position in the broker's retained log (streaming transports). */
  readonly sequence?: bigint;
  /** The message type the broker routed it by (from the NATS subject, the AMQP routing key), and where that was read. */
  readonly routed?: { readonly type: string; readonly by: string };
}

/** Reads a message written by encodeEnvelope; anything else is a ValidationError (a poison message to reject). */
export function decodeEnvelope(text: string, attempt: number, delivery: Delivery = {}): DeliveredMessage {
  const { sequence, routed } = delivery;
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (cause) {
    throw new ValidationError('message body is not JSON', {}, { cause });
  }
  if (!isEnvelope(parsed)) throw new ValidationError('message body is not a tidemark envelope');
  // A foreign producer's envelope is held to what publish enforces: handlers rely on the types
  // (a Date, string headers) and an inbox can record only a well-formed id, so a message breaking
  // them is refused here, to be dead-lettered at once, rather than failing every retry.
  assertValidName(parsed.id, 'message id');
  if (parsed.key.length === 0 || parsed.key.length > 256) {
    throw new ValidationError('message key must be a string of 1–256 characters', { id: parsed.id });
  }
  if (!Number.isInteger(parsed.schemaVersion) || parsed.schemaVersion < 1) {
    throw new ValidationError('message schemaVersion must be a positive integer', { id: parsed.id });
  }
  // A message routed by one type and claiming another would reach a handler under a type it was
  // never subscribed for (or bypass a group's filter): neither can be the right one to handle.
  if (routed !== undefined && parsed.type !== routed.type) {
    throw new ValidationError(`message type '${parsed.type}' does not match its ${routed.by}`, {
      id: parsed.id,
      type: parsed.type,
      routedType: routed.type,
    });
  }
  const occurredAt = new Date(parsed.occurredAt);
  if (Number.isNaN(occurredAt.getTime())) throw new ValidationError('message occurredAt is not a date', { id: parsed.id });
  if (Array.isArray(parsed.headers) || Object.values(parsed.headers).some((value) => typeof value !== 'string')) {
    throw new ValidationError('message headers must map names to strings', { id: parsed.id });
  }
  const message: DeliveredMessage = {
    id: parsed.id,
    type: parsed.type,
    schemaVersion: parsed.schemaVersion,
    key: parsed.key,
    data: parsed.data,
    headers: parsed.headers,
    occurredAt,
    attempt,
  };
  return sequence === undefined ? message : { ...message, sequence };
}

/** The wire form of a dead letter: the message's envelope and why it failed. */
export function encodeDeadLetter(
  body: string,
  dead: Omit<DeadLetteredMessage, 'message'> & { attempt: number; sequence?: bigint },
): string {
  return JSON.stringify({
    group: dead.group,
    error: dead.error,
    attempt: dead.attempt,
    sequence: dead.sequence?.toString(),
    deadLetteredAt: dead.deadLetteredAt.toISOString(),
    message: JSON.parse(body),
  });
}

export function decodeDeadLetter(text: string): DeadLetteredMessage {
  const parsed = JSON.parse(text) as {
    group: string;
    error: string;
    attempt: number;
    sequence?: string;
    deadLetteredAt: string;
    message: unknown;
  };
  const sequence = parsed.sequence === undefined ? undefined : BigInt(parsed.sequence);
  const deadLetteredAt = new Date(parsed.deadLetteredAt);
  let message: DeliveredMessage;
  try {
    message = decodeEnvelope(JSON.stringify(parsed.message), parsed.attempt, { sequence });
  } catch {
    // Dead-lettered because it was no envelope (a foreign producer's body): shown as stored, in
    // `data` under an empty envelope, so that one such letter does not fail the whole listing.
    const stored = { id: '', type: '', schemaVersion: 0, key: '', data: parsed.message, headers: {}, occurredAt: deadLetteredAt };
    message = sequence === undefined ? { ...stored, attempt: parsed.attempt } : { ...stored, attempt: parsed.attempt, sequence };
  }
  return { message, group: parsed.group, error: parsed.error, deadLetteredAt };
}

/** An error as the text a dead letter carries. */
export function errorText(error: unknown): string {
  if (error instanceof Error) return error.message || error.name;
  return String(error);
}
