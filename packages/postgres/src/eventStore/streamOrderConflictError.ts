import { ConcurrencyError, type ExpectedVersion } from '@tidemark/core';

/**
 * A transaction that had already written (and so holds a transaction id, which fixes where its
 * events sort in the global log) tried to append to a stream that a younger transaction wrote
 * to meanwhile. Appending would put this stream's new version before its previous one in
 * readAll order, so nothing was written. It is a ConcurrencyError: retrying the whole
 * transaction (as command handlers do) runs it with a new id and succeeds.
 */
export class StreamOrderConflictError extends ConcurrencyError {
  constructor(streamId: string, expected: ExpectedVersion, actual: number) {
    super(streamId, expected, actual);
    this.message = `Stream '${streamId}' (version ${actual}) was appended to by a transaction that started writing after this one; retry the transaction`;
  }
}
