import { TidemarkError } from '@tidemark/core';

/**
 * The outbox's rows were restored without the state of the sequence that numbers them, and this
 * role may not advance it (advanceOutboxSequence). Opening anyway would fail adds on the
 * restored rows' keys (duplicate key) or, past them, number new messages below unpublished
 * restored ones — the relay would publish them first, out of order per key.
 */
export class OutboxSequenceBehindError extends TidemarkError {
  constructor(schema: string, cause: unknown) {
    super(
      // As SchemaBehindError's: the store must be repaired by its owner before this code runs on it.
      'validation',
      `The outbox of the store in schema '${schema}' holds rows numbered past its sequence (restored without it), and this role may not advance the sequence: run \`tidemark migrate\` (or, as the store's owner, the statements of advanceOutboxSequenceSql('${schema}')) once, then open it again`,
      { schema },
      { cause },
    );
  }
}
