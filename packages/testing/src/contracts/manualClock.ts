import type { Clock } from '@tidemark/core';

/** A clock that moves only when told to: temporal queries become deterministic, no sleeping. */
export interface ManualClock extends Clock {
  /** Moves the clock forward by `ms` milliseconds and returns the new time. */
  advance(ms: number): Date;
  set(time: Date): void;
}

export function createManualClock(start: Date = new Date('2024-01-01T00:00:00.000Z')): ManualClock {
  let current = start.getTime();
  return {
    now: () => new Date(current),
    advance(ms) {
      current += ms;
      return new Date(current);
    },
    set(time) {
      current = time.getTime();
    },
  };
}
