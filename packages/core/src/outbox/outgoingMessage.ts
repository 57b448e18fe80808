import { PayloadTooLargeError, ValidationError } from '../domain/errors.js';
import { isSchemaVersion, maxSchemaVersion } from '../domain/isSchemaVersion.js';
import { isStorableDate } from '../domain/isStorableDate.js';
import { jsonHasLoneSurrogate } from '../domain/isWellFormed.js';
import { type AppendLimits, defaultAppendLimits, resolveAppendLimits } from '../eventStore/appendLimits.js';
import { assertValidName } from '../eventStore/prepareAppend.js';
import { toJson } from '../eventStore/toJson.js';
import { activeTraceparent } from '../tracing/traceparent.js';
import type { OutgoingMessage } from '../transport/transport.js';
import { prepareMessages } from '../transport/transportInput.js';
import type { OutboxEntry } from './outbox.js';

/** A message checked and serialised once, ready for any outbox adapter to write. */
export interface PreparedOutgoingMessage {
  id: string;
  type: string;
  schemaVersion: number;
  key: string;
  dataJson: string;
  headersJson: string;
  /** When the fact happened; the time of the add when the message did not say. */
  occurredAt: Date;
}

const textEncoder = new TextEncoder();

function assertWellFormedJson(json: string, what: string): void {
  if (jsonHasLoneSurrogate(json)) {
    throw new ValidationError(`${what} holds a string that is not well-formed Unicode (a lone surrogate)`, { field: what });
  }
}

/**
 * Validates a batch of outgoing messages completely before anything is written, so one bad
 * message means none is: ids, types and keys are names (non-empty, ≤ 256 characters, no control
 * characters — NUL included —, well-formed Unicode), data is plain JSON, headers are string to
 * string, and each message fits the per-event size cap (data + headers). The same rules as an
 * append, because a message is as public and as durable as an event.
 */
export function prepareOutgoingMessages(
  messages: readonly OutgoingMessage[],
  now: Date,
  limits: Pick<AppendLimits, 'maxEventBytes'> = defaultAppendLimits,
): PreparedOutgoingMessage[] {
  if (!Array.isArray(messages)) throw new ValidationError('messages must be an array', { field: 'messages' });
  // Adapters hand in their own limits object: checked here too, so a NaN cap is never silently none.
  const { maxEventBytes } = resolveAppendLimits(limits);
  // What the transports would refuse must not get in: a row no broker accepts would stall the relay.
  prepareMessages(messages);
  const seen = new Set<string>();
  // A message added while a span is active carries its trace to the consumers (unless it names one).
  const traceparent = activeTraceparent();
  return messages.map((message, index): PreparedOutgoingMessage => {
    if (message === null || typeof message !== 'object') throw new ValidationError(`Message ${index} is not an object`, { index });
    assertValidName(message.id, `message ${index} id`);
    if (seen.has(message.id)) throw new ValidationError(`Message id ${message.id} appears twice in one batch`, { index });
    seen.add(message.id);
    assertValidName(message.type, `message ${index} type`);
    assertValidName(message.key, `message ${index} key`);
    const schemaVersion = message.schemaVersion;
    if (!isSchemaVersion(schemaVersion)) {
      throw new ValidationError(`Message ${index} schemaVersion must be a whole number from 1 to ${maxSchemaVersion}`, { index });
    }
    if (message.data === undefined) throw new ValidationError(`Message ${index} has no data`, { index });
    const dataJson = toJson(message.data, `message ${index} data`);
    assertWellFormedJson(dataJson, `message ${index} data`);
    const headers: unknown = message.headers ?? {};
    if (headers === null || typeof headers !== 'object' || Array.isArray(headers)) {
      throw new ValidationError(`Message ${index} headers must be an object of strings`, { index });
    }
    for (const [name, value] of Object.entries(headers)) {
      assertValidName(name, `message ${index} header name`);
      if (typeof value !== 'string') throw new ValidationError(`Message ${index} header '${name}' must be a string`, { index });
    }
    const carried =
      traceparent !== undefined && (headers as Record<string, string>).traceparent === undefined ? { ...headers, traceparent } : headers;
    const headersJson = toJson(carried, `message ${index} headers`);
    assertWellFormedJson(headersJson, `message ${index} headers`);
    const occurredAt = message.occurredAt ?? now;
    if (!isStorableDate(occurredAt)) {
      throw new ValidationError(`Message ${index} occurredAt must be a valid Date in the years 1 to 9999`, { index });
    }
    const size = textEncoder.encode(dataJson).length + textEncoder.encode(headersJson).length;
    if (size > maxEventBytes) {
      throw new PayloadTooLargeError(`Message ${index} is ${size} bytes; the limit is ${maxEventBytes}`, {
        limit: maxEventBytes,
        actual: size,
        index,
      });
    }
    return { id: message.id, type: message.type, schemaVersion, key: message.key, dataJson, headersJson, occurredAt };
  });
}

/**
 * The new data of a stored message as `Outbox.rewriteData` writes it: `rewrite`'s answer
 * serialised and checked like the data of an add (plain JSON, well-formed Unicode), or undefined
 * when there is nothing to write (no answer, or the same JSON as stored).
 */
export function rewrittenDataJson(
  message: OutboxEntry['message'],
  storedJson: string,
  rewrite: (message: OutboxEntry['message']) => unknown,
): string | undefined {
  const data = rewrite(message);
  if (data === undefined) return undefined;
  const json = toJson(data, `message ${message.id} data`);
  assertWellFormedJson(json, `message ${message.id} data`);
  return json === storedJson ? undefined : json;
}
