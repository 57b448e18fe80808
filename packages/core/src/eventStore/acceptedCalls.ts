/**
 * The calls a store accepted (it was open when they were made) and that have not settled yet.
 * Between its call and its end one may hold nothing a store could see: an append in its write
 * stages (a schema check, a key store), a transaction between two attempts, a read waiting for
 * its own writes or a free connection. close() waits for them all (`settled`) before it closes
 * what they still need, so "accepted before close() means it runs to its end" holds.
 */
export interface AcceptedCalls {
  /** Runs `operation` if the store is open (else rejects with `assertOpen`'s error); `settled` waits for it. */
  accept<T>(operation: () => Promise<T>): Promise<T>;
  /** `settled` waits for `running` too: a step of a call already accepted (a readAll page). */
  track<T>(running: Promise<T>): Promise<T>;
  /** Resolves once every call accepted or tracked so far has settled (and those they accept meanwhile). */
  settled(): Promise<void>;
}

/** `assertOpen` throws the store's typed error once close() has begun. */
export function createAcceptedCalls(assertOpen: () => void): AcceptedCalls {
  const running = new Set<Promise<unknown>>();
  function track<T>(call: Promise<T>): Promise<T> {
    running.add(call);
    const settle = () => void running.delete(call);
    call.then(settle, settle);
    return call;
  }
  return {
    accept<T>(operation: () => Promise<T>): Promise<T> {
      try {
        assertOpen();
        return track(operation());
      } catch (error) {
        // As every store operation: a closed store rejects, never throws synchronously.
        return Promise.reject(error);
      }
    },
    track,
    async settled() {
      // A call may accept another before it settles (a hooked append's transaction): loop until none is left.
      while (running.size > 0) await Promise.allSettled(running);
    },
  };
}
