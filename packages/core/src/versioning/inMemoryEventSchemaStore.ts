import type { Clock } from '../domain/clock.js';
import type { RecordedEvent } from '../domain/event.js';
import type { EventSchemaStore, RegisteredEventSchema } from './eventSchemaStore.js';

/** The in-memory store's schema registry; `sample` is the store's (it knows its log and stages). */
export function createInMemoryEventSchemaStore(
  clock: Clock,
  sample: (type: string, schemaVersion: number, limit: number) => Promise<RecordedEvent[]>,
): EventSchemaStore {
  const entries = new Map<string, RegisteredEventSchema>();
  return {
    async list() {
      return [...entries.values()]
        .sort((a, b) => (a.type === b.type ? a.version - b.version : a.type < b.type ? -1 : 1))
        .map((entry) => structuredClone(entry));
    },
    async add(added) {
      const registeredAt = clock.now();
      for (const entry of added) {
        const key = `${entry.type}\u0000${entry.version}`;
        if (!entries.has(key)) entries.set(key, structuredClone({ ...entry, registeredAt }));
      }
    },
    sample,
  };
}
