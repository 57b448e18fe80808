import type { StoreTransaction } from '../eventStore/eventStore.js';
import type { Outbox } from '../outbox/outbox.js';
import type { CryptoShredding, ForgottenSubject } from './cryptoShredding.js';

/**
 * Erases a forgotten subject from the table outbox, in `tx`: every stored message of a type
 * declared in `personalMessages` whose subject is this one — waiting to be published, or
 * published and kept for the retention period — has its personal fields replaced by the
 * redaction marker. A waiting message is still published, redacted (like an event the log relay
 * publishes after the forget): it keeps its id, key and place in the order, so consumers miss
 * no fact and see `isRedacted` where the data was. Returns how many messages it changed (none
 * the second time). Use it as an onForgotten listener:
 * `(forgotten) => store.transaction((tx) => redactOutbox(outbox, tx, forgotten, shredding))`.
 */
export async function redactOutbox<Tx extends StoreTransaction>(
  outbox: Pick<Outbox<Tx>, 'rewriteData'>,
  tx: Tx,
  forgotten: ForgottenSubject,
  shredding: Pick<CryptoShredding, 'personalMessageTypes' | 'redactMessage'>,
): Promise<number> {
  if (shredding.personalMessageTypes.length === 0) return 0;
  return outbox.rewriteData(tx, shredding.personalMessageTypes, (message) => {
    const redacted = shredding.redactMessage(message, forgotten.subjectId);
    return redacted === message ? undefined : redacted.data;
  });
}
