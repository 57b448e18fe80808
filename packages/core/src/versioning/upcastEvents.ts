import { createHash } from 'node:crypto';
import type { RecordedEvent } from '../domain/event.js';
import type { UpcastChain, UpcastEvent } from './eventDefinition.js';
import { validateWith } from './schemaIssues.js';
import { EventSchemaError, UnknownEventTypeError, UpcasterChainError } from './versioningErrors.js';

/** A rename of a rename of … deeper than this is a cycle (a → b → a). */
const maxReplacementDepth = 8;

/**
 * Event `index` (≥ 1) of a split gets an id of its own, derived from the stored event's id so
 * that every read derives the same one (outbox messages and inbox records are keyed by it):
 * a UUID version 8 made of sha-256(`<id>/<index>`).
 */
function derivedId(id: string, index: number): string {
  const hex = createHash('sha256').update(`${id}/${index}`).digest('hex');
  const variant = ((Number.parseInt(hex[16] as string, 16) & 0x3) | 0x8).toString(16);
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-8${hex.slice(13, 16)}-${variant}${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}

export interface UpcastOptions {
  validateOnRead: boolean;
}

/**
 * The read side of the registry: brings each event to the latest version of its type. Events
 * of unregistered types, and events already at the latest version, pass through untouched and
 * unallocated, so a batch that needs nothing comes back as the same array.
 */
export function createUpcast(chains: ReadonlyMap<string, UpcastChain>, options: UpcastOptions) {
  /** `pending` collects the checks of async schemas; the batch waits for them. */
  function check(event: RecordedEvent, chain: UpcastChain, pending: Array<Promise<void>>): void {
    const schema = chain.schemas[event.schemaVersion];
    if (!schema) return;
    const fail = (issues: ReturnType<typeof validateWith>) => {
      if (Array.isArray(issues) && issues.length > 0) {
        throw new EventSchemaError(
          { type: event.type, schemaVersion: event.schemaVersion, streamId: event.streamId, eventId: event.id },
          issues,
        );
      }
    };
    const issues = validateWith(schema, event.data);
    if (issues instanceof Promise) pending.push(issues.then(fail));
    else fail(issues);
  }

  /** The event at its type's latest version: itself when nothing changes, several events for a split. */
  function upcastOne(event: RecordedEvent, depth: number, pending: Array<Promise<void>>): RecordedEvent | RecordedEvent[] {
    const chain = chains.get(event.type);
    if (chain === undefined) return event;
    const stored = event.schemaVersion;
    if (!(stored >= 1 && stored <= chain.latest)) {
      throw new UnknownEventTypeError(
        `Event ${event.id} (${event.type}) is stored as v${stored}, but this code knows ${event.type} up to v${chain.latest}: deploy the code that registered v${stored}`,
        { type: event.type, schemaVersion: stored, eventId: event.id, streamId: event.streamId },
      );
    }
    // One copy for the whole chain (the stored event may be shared, e.g. the in-memory store's),
    // stepped in place: each upcaster sees the event at the version it upcasts from.
    const current = stored < chain.latest ? { ...event } : event;
    for (let version = stored; version < chain.latest; version++) {
      const upcaster = chain.upcasters[version];
      // No upcaster: the next version reads this data as it is (checked at registration).
      if (upcaster) current.data = upcaster(current.data, current);
      current.schemaVersion = version + 1;
    }
    if (options.validateOnRead) check(current, chain, pending);
    if (!chain.becomes) return current;
    if (depth >= maxReplacementDepth) {
      throw new UpcasterChainError(`${event.type}: replaced more than ${maxReplacementDepth} times in a row, a cycle of renames?`, {
        type: event.type,
      });
    }
    const produced = chain.becomes.events(current.data, current);
    const list: readonly UpcastEvent[] = Array.isArray(produced) ? produced : [produced as UpcastEvent];
    const out: RecordedEvent[] = [];
    list.forEach((replacement, index) => {
      if (!chain.becomes?.types.includes(replacement.type)) {
        throw new UpcasterChainError(`${event.type} became '${String(replacement.type)}', which its becomes.types does not list`, {
          type: event.type,
          produced: replacement.type,
        });
      }
      // Same stream, version, position and time as the stored event: see docs/evolution.md.
      const next: RecordedEvent = {
        ...current,
        id: index === 0 ? current.id : derivedId(current.id, index),
        type: replacement.type,
        schemaVersion: replacement.schemaVersion ?? 1,
        data: replacement.data,
      };
      const upcast = upcastOne(next, depth + 1, pending);
      if (Array.isArray(upcast)) out.push(...upcast);
      else out.push(upcast);
    });
    return out;
  }

  function upcast(events: readonly RecordedEvent[]): readonly RecordedEvent[] | Promise<readonly RecordedEvent[]> {
    let out: RecordedEvent[] | undefined;
    const pending: Array<Promise<void>> = [];
    for (let i = 0; i < events.length; i++) {
      const event = events[i] as RecordedEvent;
      const chain = chains.get(event.type);
      // The common case, kept to two lookups and a comparison per event.
      if (chain === undefined || (event.schemaVersion === chain.latest && !chain.becomes && !options.validateOnRead)) {
        out?.push(event);
        continue;
      }
      const result = upcastOne(event, 0, pending);
      if (result === event) {
        out?.push(event);
        continue;
      }
      out ??= events.slice(0, i);
      if (Array.isArray(result)) out.push(...result);
      else out.push(result);
    }
    const result = out ?? events;
    if (pending.length === 0) return result;
    return Promise.all(pending).then(() => result);
  }

  return upcast;
}

/** The stored types whose events may be read as one of `types`, through renames and splits (transitively). */
export function storedTypesFor(chains: ReadonlyMap<string, UpcastChain>, types: readonly string[]): readonly string[] {
  const result = new Set(types);
  for (let grew = true; grew; ) {
    grew = false;
    for (const chain of chains.values()) {
      if (result.has(chain.type) || !chain.becomes) continue;
      if (chain.becomes.types.some((type) => result.has(type))) {
        result.add(chain.type);
        grew = true;
      }
    }
  }
  return [...result];
}
