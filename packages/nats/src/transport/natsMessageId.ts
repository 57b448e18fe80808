/**
 * The Nats-Msg-Id a message is published with, which the stream de-duplicates on.
 *
 * The client trims header values (String.prototype.trim: spaces, no-break spaces, U+FEFF, line
 * separators), so ids that differ only there — ' a', 'a ', 'a\u00a0' — would share one
 * Nats-Msg-Id and all but the first be dropped as duplicates while publish resolves. Such an id
 * is sent as its JSON string instead, which starts and ends with '"'; an id that itself starts
 * with '"' is quoted too, so no two ids share a Nats-Msg-Id. Every other id is sent as it is.
 */
export function natsMessageId(id: string): string {
  return id.trim() === id && !id.startsWith('"') ? id : JSON.stringify(id);
}
