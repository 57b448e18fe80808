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
 *
 * The transaction must not commit (nor roll back) while a unit is in flight: COMMIT would take a
 * half-done append with it (its events without its hooks' writes), and the unit's later calls would
 * find the transaction over. So the store awaits `idle()` once the work has returned, as if the work
 * had awaited everything it left running; what then fails fails the transaction.
 */
export interface AppendTurns {
  /** Runs a hooked append as one unit, after the units and calls issued before it on its level. */
  unit<T>(work: () => Promise<T>): Promise<T>;
  /** Runs any other call on the transaction, once no unit is in flight on its level (at once, usually). */
  call<T>(work: () => Promise<T>): Promise<T>;
  /**
   * Runs an append that takes no turn and waits for none (PostgreSQL's plain append: its statements
   * take their turns themselves), but that `idle()` waits for as for a unit.
   */
  track<T>(work: () => Promise<T>): Promise<T>;
  /**
   * Resolves once nothing is in flight, on any level: no unit, no tracked append, no call waiting
   * behind a unit. Rejects, once all that has settled, with the first failure among the work's own
   * units, tracked appends and held calls (or ones a settled unit left behind) that settled after
   * idle() was called: the work left them running, so it could not have handled their failure.
   */
  idle(): Promise<void>;
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

const alreadyIdle = Promise.resolve();

export function createAppendTurns(): AppendTurns {
  const top = newLevel(undefined, undefined);
  let busyLevels = 0;
  /** Units (waiting or running), tracked appends, and calls waiting behind a unit. */
  let inFlight = 0;
  let idle: { promise: Promise<void>; resolve(): void; reject(error: unknown): void; failure?: { error: unknown } } | undefined;

  /** The level a call belongs to now: its own, or the first one above whose unit has not settled. */
  function owner(level: Level): Level {
    while (level.done) level = level.above as Level;
    return level;
  }

  function here(): Level {
    const level = levels.getStore();
    return level?.top === top ? owner(level) : top;
  }

  /**
   * One of them has settled. A failure of one a unit still in flight made is that unit's to
   * handle (its hook awaits it, or the unit fails); one of the work's own is the transaction's.
   */
  function settled(level: Level, failure?: { error: unknown }): void {
    inFlight--;
    if (!idle) return;
    if (failure && !idle.failure && owner(level) === top) idle.failure = failure;
    if (inFlight > 0) return;
    const { resolve, reject, failure: first } = idle;
    idle = undefined;
    if (first) reject(first.error);
    else resolve();
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
      inFlight++;
      let failure: { error: unknown } | undefined;
      if (level.busy) await new Promise<void>((resolve) => level.waiting.push({ unit: true, start: resolve }));
      else {
        level.busy = true;
        busyLevels++;
      }
      const below = newLevel(top, level);
      try {
        return await levels.run(below, work);
      } catch (error) {
        failure = { error };
        throw error;
      } finally {
        below.done = true;
        handOn(level);
        settled(level, failure);
      }
    },
    call(work) {
      if (busyLevels === 0) return work();
      const level = here();
      if (!level.busy) return work();
      inFlight++;
      return new Promise((resolve) => {
        level.waiting.push({
          unit: false,
          start() {
            let result: ReturnType<typeof work>;
            try {
              result = work();
            } catch (error) {
              result = Promise.reject(error);
            }
            result.then(
              () => settled(level),
              (error: unknown) => settled(level, { error }),
            );
            resolve(result);
          },
        });
      });
    },
    async track(work) {
      const level = busyLevels === 0 ? top : here();
      inFlight++;
      let failure: { error: unknown } | undefined;
      try {
        return await work();
      } catch (error) {
        failure = { error };
        throw error;
      } finally {
        settled(level, failure);
      }
    },
    idle() {
      if (inFlight === 0) return alreadyIdle;
      if (!idle) {
        let resolve = () => {};
        let reject: (error: unknown) => void = () => {};
        const promise = new Promise<void>((settle, fail) => {
          resolve = settle;
          reject = fail;
        });
        idle = { promise, resolve, reject };
      }
      return idle.promise;
    },
  };
}
