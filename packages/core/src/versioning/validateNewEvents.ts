import type { NewEvent } from '../domain/event.js';
import type { EventChain } from './eventDefinition.js';
import { validateWith } from './schemaIssues.js';
import { EventSchemaError, type SchemaIssue, UnknownEventTypeError } from './versioningErrors.js';

export interface ValidateOptions {
  /** Refuse event types the registry does not know. */
  strict: boolean;
}

/**
 * The write side of the registry, on one append: each event of a registered type gets its
 * type's latest version when it names none, and must match that version's schema. Any failure
 * throws before the store serialises anything, so nothing of the append is written.
 */
export function createValidation(chains: ReadonlyMap<string, EventChain>, options: ValidateOptions) {
  return function validate(events: readonly NewEvent[], streamId: string): readonly NewEvent[] | Promise<readonly NewEvent[]> {
    let out: NewEvent[] | undefined;
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
        out?.push(event);
        continue;
      }
      const schemaVersion = event.schemaVersion ?? chain.latest;
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
      if (event.schemaVersion === undefined) {
        out ??= events.slice(0, index);
        out.push({ ...event, schemaVersion });
      } else {
        out?.push(event);
      }
    }
    const result = out ?? events;
    return pending.length > 0 ? Promise.all(pending).then(() => result) : result;
  };
}
