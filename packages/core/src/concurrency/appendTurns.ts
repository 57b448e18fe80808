import { AsyncLocalStorage } from 'node:async_hooks';

/**
 * Turn-taking for the calls on ONE store transaction, so that its hooked appends never interleave.
 *
 * A hooked append is a unit: savepoint, write, hooks (which may await), then release, or roll
 * back to the savepoint when the write or a hook fails. Two of them called concurrently
 * (`Promise.all([tx.appendToStream(a, …), tx.appendToStream(b, …)])`) would interleave at their
 * awaits, and rolling back to one append's savepoint would undo what the other wrote since. So:
 *
 * - `unit`: an append waits until the unit in flight (if any) has settled, FIFO in call order,
 *   and holds the turn until it settles itself.
 * - `call`: anything else on the transaction (a statement, a read) issued while a unit is in
 *   flight waits for it too, in the same queue — so no rollback of that unit can undo it, and it
 *   never sees events that are then undone — but holds no turn: it starts as soon as it is let in.
 *
 * The calls a unit makes itself — its own statements, its hooks' calls on the same `tx`, an
 * append from inside a hook among them — must not wait for it: that would deadlock. They are told
 * apart by async context (as TransactionScope tells the store's own calls from its transactions'
 * work): a unit's work runs on a level of its own, one below the level it was called on, and a
 * call queues only behind the unit in flight on ITS level. A level below takes turns as the top
 * one does, so a hook's own concurrent appends are units too, and savepoints nest as a stack.
 * (Handing hooks a different `tx` whose appends skip the queue would avoid async context, but the
 * hook's `tx` would then not be the work's — nor would any `tx` it captured elsewhere.)
 *
 * A call left running by a unit that has settled (a hook's un-awaited promise) belongs to the
 * level above from then on: it waits like any call of the work. A lone caller, awaiting one call
 * after another, finds no unit in flight: a call costs one counter check, a unit one context switch.
 */
export interface AppendTurns {
  /** Runs a hooked append as one unit, after the units and calls issued before it on its level. */
  unit<T>(work: () => Promise<T>): Promise<T>;
  /** Runs any other call on the transaction, once no unit is in flight on its level (at once, usually). */
  call<T>(work: () => Promise<T>): Promise<T>;
}

interface Level {
  /** The transaction's top level: a level of another transaction's (another store's) does not count. */
  readonly top: Level | undefined;
  readonly above: Level | undefined;
  /** A unit holds this level. */
  busy: boolean;
  /** Its unit has settled: later calls from its context belong to the level above. */
  done: boolean;
  waiting: Array<{ unit: boolean; start(): void }>;
}

// One for the process: every AsyncLocalStorage in use costs every promise a little.
const levels = new AsyncLocalStorage<Level>();

const newLevel = (top: Level | undefined, above: Level | undefined): Level => ({ top, above, busy: false, done: false, waiting: [] });

export function createAppendTurns(): AppendTurns {
  const top = newLevel(undefined, undefined);
  let busyLevels = 0;

  function here(): Level {
    let level = levels.getStore();
    if (level?.top !== top) return top;
    while (level.done) level = level.above as Level;
    return level;
  }

  function handOn(level: Level): void {
    for (let next = level.waiting.shift(); next; next = level.waiting.shift()) {
      // Calls start here and now, before the next unit's first statement; a unit keeps the turn.
      next.start();
      if (next.unit) return;
    }
    level.busy = false;
    busyLevels--;
  }

  return {
    async unit(work) {
      const level = busyLevels === 0 ? top : here();
      if (level.busy) await new Promise<void>((resolve) => level.waiting.push({ unit: true, start: resolve }));
      else {
        level.busy = true;
        busyLevels++;
      }
      const below = newLevel(top, level);
      try {
        return await levels.run(below, work);
      } finally {
        below.done = true;
        handOn(level);
      }
    },
    call(work) {
      if (busyLevels === 0) return work();
      const level = here();
      if (!level.busy) return work();
      return new Promise((resolve, reject) => {
        level.waiting.push({
          unit: false,
          start() {
            try {
              resolve(work());
            } catch (error) {
              reject(error);
            }
          },
        });
      });
    },
  };
}
