import { assertValidName } from '../eventStore/prepareAppend.js';

/** A consumer name and a message id are names: they key a row, so they must survive storage unchanged. */
export function assertInboxKey(consumer: unknown, messageId: unknown): void {
  assertValidName(consumer, 'consumer');
  assertValidName(messageId, 'message id');
}
