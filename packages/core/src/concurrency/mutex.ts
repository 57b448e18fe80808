/**
 * A FIFO async mutex. Embedded stores have one connection, so a transaction that awaits
 * between its statements must keep every other writer out until it commits.
 */
export interface Mutex {
  run<T>(work: () => Promise<T>): Promise<T>;
  /** True while some work holds the lock. */
  readonly locked: boolean;
  /** True while other work waits for it: a holder that could go on may step aside instead. */
  readonly contended: boolean;
}

export function createMutex(): Mutex {
  let tail: Promise<unknown> = Promise.resolve();
  let holders = 0;
  return {
    get locked() {
      return holders > 0;
    },
    get contended() {
      return holders > 1;
    },
    run<T>(work: () => Promise<T>): Promise<T> {
      holders++;
      const result = tail.then(work);
      const release = () => {
        holders--;
      };
      tail = result.then(release, release);
      return result;
    },
  };
}
