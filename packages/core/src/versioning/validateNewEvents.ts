import type { NewEvent } from '../domain/event.js';
import type { UpcastChain } from './eventDefinition.js';
import { validateWith } from './schemaIssues.js';
import { EventSchemaError, type SchemaIssue, UnknownEventTypeError } from './versioningErrors.js';

export interface ValidateOptions {
  /** Refuse event types the registry does not know. */
  strict: boolean;
}

/**
 * The write side of the registry, on one append: each event of a registered type must match the
 * schema of its version (1 when it names none, as everywhere in tidemark: code writing a newer
 * shape says so). Any failure throws before the store serialises anything, so nothing of the
 * append is written. The events pass through unchanged (the same array).
 */
export function createValidation(chains: ReadonlyMap<string, UpcastChain>, options: ValidateOptions) {
  return function validate(events: readonly NewEvent[], streamId: string): readonly NewEvent[] | Promise<readonly NewEvent[]> {
    const pending: Array<Promise<void>> = [];
    for (let index = 0; index < events.length; index++) {
      const event = events[index] as NewEvent;
      const chain = chains.get(event.type);
      if (chain === undefined) {
        if (options.strict) {
          throw new UnknownEventTypeError(`Event ${index} has type '${event.type}', which the event registry does not know`, {
            type: event.type,
            index,
            streamId,
          });
        }
        continue;
      }
      const schemaVersion = event.schemaVersion ?? 1;
      if (!(Number.isSafeInteger(schemaVersion) && schemaVersion >= 1 && schemaVersion <= chain.latest)) {
        throw new UnknownEventTypeError(
          `Event ${index} (${event.type}) has schema version ${String(schemaVersion)}; the event registry knows v1 to v${chain.latest}`,
          { type: event.type, schemaVersion, index, streamId },
        );
      }
      const schema = chain.schemas[schemaVersion];
      if (schema) {
        const fail = (issues: SchemaIssue[]) => {
          if (issues.length > 0) throw new EventSchemaError({ type: event.type, schemaVersion, index, streamId }, issues);
        };
        const issues = validateWith(schema, event.data);
        if (issues instanceof Promise) pending.push(issues.then(fail));
        else fail(issues);
      }
    }
    return pending.length > 0 ? Promise.all(pending).then(() => events) : events;
  };
}
