import type { EventStage, NewEvent, RecordedEvent, TypeRenamingStage } from '@tidemark/core';

/**
 * One stage standing in for stages known only once the store is open: an application's stage
 * factory may need the opened store (its key store lives in the same file or pool, and the store
 * must first prove it is at this code's version, or the key store would migrate it). Until
 * `resolve` it passes events through; after, it runs them as the store's own `stages` would:
 * writes in order, reads in reverse order, renamed types through every renaming stage.
 */
export interface DeferredStages {
  stage: TypeRenamingStage;
  resolve(stages: readonly EventStage[]): void;
}

export function createDeferredStages(): DeferredStages {
  let stages: readonly EventStage[] = [];
  const stage: TypeRenamingStage = {
    async write(events: readonly NewEvent[], streamId: string) {
      let current = events;
      for (const one of stages) if (one.write) current = await one.write(current, streamId);
      return current;
    },
    async read(events: readonly RecordedEvent[]) {
      let current = events;
      for (const one of [...stages].reverse()) if (one.read && current.length > 0) current = await one.read(current);
      return current;
    },
    storedTypesFor(types) {
      const renaming = stages.filter((one): one is TypeRenamingStage => typeof (one as TypeRenamingStage).storedTypesFor === 'function');
      if (renaming.length === 0) return types;
      return [...new Set(renaming.flatMap((one) => one.storedTypesFor(types)))];
    },
  };
  return {
    stage,
    resolve(resolved) {
      if (!Array.isArray(resolved) || resolved.some((one) => typeof one !== 'object' || one === null)) {
        throw new TypeError('stages must be an array of event stages');
      }
      stages = resolved;
    },
  };
}
