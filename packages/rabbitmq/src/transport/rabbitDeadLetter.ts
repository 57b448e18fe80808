import { type DeadLetteredMessage, type DeliveredMessage, decodeDeadLetter, decodeEnvelope } from '@tidemark/core';
import type { GetMessage } from 'amqplib';

/**
 * Marks a dead letter sent as the message came, its error in headers: its dead-letter JSON
 * (binary escapes to up to six times its size as JSON text) would pass the broker's
 * max_message_size, the broker would refuse the letter, and the message would come back for ever.
 */
export const keptAsSentHeader = 'x-tidemark-kept-as-sent';

/** Reads a dead letter from the group's dead queue, in either of its forms. */
export function readRabbitDeadLetter(msg: GetMessage): DeadLetteredMessage {
  const text = msg.content.toString('utf8');
  const headers = (msg.properties.headers ?? {}) as Record<string, unknown>;
  if (headers[keptAsSentHeader] === undefined) return decodeDeadLetter(text);
  const attempt = Number(headers['x-tidemark-attempt'] ?? 1);
  const deadLetteredAt = new Date(String(headers[keptAsSentHeader]));
  let message: DeliveredMessage;
  try {
    message = decodeEnvelope(text, attempt);
  } catch {
    // Shown as stored, like decodeDeadLetter shows a letter whose message was no envelope.
    const id = typeof msg.properties.messageId === 'string' ? msg.properties.messageId : '';
    message = { id, type: '', schemaVersion: 0, key: '', data: text, headers: {}, occurredAt: deadLetteredAt, attempt };
  }
  return { message, group: String(headers['x-tidemark-group'] ?? ''), error: String(headers['x-tidemark-error'] ?? ''), deadLetteredAt };
}
