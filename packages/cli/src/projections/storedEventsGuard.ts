import { encryptedFieldKey, type Projection, type RecordedEvent } from '@tidemark/core';
import type { SqlTx } from '../store/openStore.js';

/** The way out the refusal names: export the stages, or say the events are to be replayed as stored. */
const remedy =
  "export the application's event stages from --module as `stages`, or pass --as-stored if the projection reads the stored form";

/** Whether `value` holds an encrypted field anywhere: `{ "tidemark:encrypted": … }`. */
function holdsEncryptedField(value: unknown, depth = 0): boolean {
  if (typeof value !== 'object' || value === null || depth > 64) return false;
  if (Array.isArray(value)) return value.some((item) => holdsEncryptedField(item, depth + 1));
  if (Object.hasOwn(value, encryptedFieldKey)) return true;
  return Object.values(value).some((item) => holdsEncryptedField(item, depth + 1));
}

/**
 * The projection, refusing to apply events that show the work of stages the CLI does not have
 * (no `stages` exported by --module): an encrypted field (crypto-shredding: the read model would
 * hold ciphertext), or a type met at a second schema version (an upcaster would have read them as
 * one). The error ends the rebuild before the swap, or rolls the retry back: nothing is written.
 * A store whose old events are ALL at an old version cannot be told from one without upcasters.
 */
export function refusingStagedEvents(projection: Projection<SqlTx>, command: string): Projection<SqlTx> {
  const versions = new Map<string, number>();
  const check = (event: RecordedEvent) => {
    const at = `the event at position ${event.position} (${event.type})`;
    if (holdsEncryptedField(event.data)) {
      throw new Error(
        `${command}: ${at} holds an encrypted field ("${encryptedFieldKey}") and the module exports no stages to decrypt it: ${remedy}`,
      );
    }
    const seen = versions.get(event.type);
    if (seen === undefined) versions.set(event.type, event.schemaVersion);
    else if (seen !== event.schemaVersion) {
      throw new Error(
        `${command}: ${event.type} events are stored at schema versions ${Math.min(seen, event.schemaVersion)} and ${Math.max(seen, event.schemaVersion)} (${at}) and the module exports no stages to upcast them: ${remedy}`,
      );
    }
  };
  // Everything else (name, tables, setup, types…) is the projection's own, looked up through the prototype.
  // (defined, not assigned: a frozen projection's apply is read-only, and assigning would throw).
  const apply: Projection<SqlTx>['apply'] = (events, tx, tables) => {
    for (const event of events) check(event);
    return projection.apply.call(projection, events, tx, tables);
  };
  return Object.create(projection, { apply: { value: apply, enumerable: true } }) as Projection<SqlTx>;
}
