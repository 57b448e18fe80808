/**
 * Callers waiting for a projector to pass a position (read-your-writes). Positions are
 * compared with ≥ only: PostgreSQL positions are sparse, so the exact position may never be
 * a checkpoint, but any checkpoint at or past it covers it.
 */
export interface PositionWaiters {
  wait(position: bigint, current: bigint, timeoutMs: number): Promise<boolean>;
  /** Resolves (true) every waiter at or below `position`. */
  reached(position: bigint): void;
  /** Resolves every waiter false: the projector failed or stopped and will not get there. */
  abandon(): void;
}

export function createPositionWaiters(): PositionWaiters {
  const waiters = new Set<{ position: bigint; settle: (reached: boolean) => void }>();
  return {
    wait(position, current, timeoutMs) {
      if (current >= position) return Promise.resolve(true);
      return new Promise((resolve) => {
        const waiter = {
          position,
          settle(reached: boolean) {
            clearTimeout(timer);
            waiters.delete(waiter);
            resolve(reached);
          },
        };
        const timer = setTimeout(() => waiter.settle(false), timeoutMs);
        waiters.add(waiter);
      });
    },
    reached(position) {
      for (const waiter of [...waiters]) if (waiter.position <= position) waiter.settle(true);
    },
    abandon() {
      for (const waiter of [...waiters]) waiter.settle(false);
    },
  };
}
