import type { StoreTransaction } from '../eventStore/eventStore.js';
import type { CheckpointStore } from '../processing/checkpointStore.js';
import type { CryptoShredding, ForgottenSubject } from './cryptoShredding.js';
import { redactedMarker } from './personalDataStage.js';

/**
 * Erases a forgotten subject from the projections' failure records, in `tx`: a parked event
 * (dead letter) of one of the subject's streams is the decrypted event as the projector saw
 * it, so the subject's personal fields become the redaction marker — as a replay now reads
 * them, and a retry applies them — and its error message, which may quote the data, is
 * redacted too. A projector halted on such an event keeps its position; only its message is
 * redacted. Returns how many records it changed. Use it as an onForgotten listener:
 * `(forgotten) => store.transaction((tx) => redactDeadLetters(checkpoints, tx, forgotten, shredding))`.
 */
export async function redactDeadLetters<Tx extends StoreTransaction>(
  checkpoints: CheckpointStore<Tx>,
  tx: Tx,
  forgotten: ForgottenSubject,
  shredding: Pick<CryptoShredding, 'redact'>,
): Promise<number> {
  const streams = new Set(forgotten.streamIds);
  let changed = 0;
  const lettersByProjection = new Map<string, Awaited<ReturnType<CheckpointStore<Tx>['deadLetters']>>>();
  for (const failed of await checkpoints.failedEvents(tx)) {
    if (!streams.has(failed.streamId)) continue;
    if (failed.status === 'failed') {
      const record = await checkpoints.load(failed.projection, tx);
      if (record?.failure) await checkpoints.recordFailure(failed.projection, { ...record.failure, message: redactedMarker }, tx);
      changed++;
      continue;
    }
    let letters = lettersByProjection.get(failed.projection);
    if (!letters) {
      letters = await checkpoints.deadLetters(failed.projection, tx);
      lettersByProjection.set(failed.projection, letters);
    }
    const letter = letters.find((candidate) => candidate.position === failed.position);
    if (!letter) continue;
    await checkpoints.removeDeadLetter(failed.projection, failed.position, tx);
    await checkpoints.park({ ...letter, message: redactedMarker, event: shredding.redact(letter.event, forgotten.subjectId) }, tx);
    changed++;
  }
  return changed;
}
