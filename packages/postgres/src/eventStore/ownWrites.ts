import { maxPosition } from '@tidemark/core';
import type pg from 'pg';
import { toTypedError } from './connectionErrors.js';
import { eventTypes } from './eventRows.js';
import { readableHorizonSql } from './readableHorizon.js';

/**
 * What one store instance knows of its own commits' readability. The readable horizon is
 * cluster-wide: ANY transaction holding an id (in any database of the server) that started
 * before our commit keeps our events unreadable until it ends (readableHorizon.ts).
 */
export interface OwnWrites {
  /** This instance committed events up to `position`. */
  committed(position: bigint): void;
  /** A statement of this instance saw this readable horizon. */
  sawHorizon(horizon: bigint): void;
  /** The highest position this instance committed (0n before its first commit). */
  latest(): bigint;
  /** True once everything this instance committed up to `target` is known readable. */
  readable(target: bigint): boolean;
  /**
   * Read-your-writes: a caller that has just appended expects readAll and headPosition to
   * include its events, as in the other stores. So wait (bounded) until the horizon passes
   * what this instance committed; on a quiet server this is one cheap query, and none once the
   * horizon is known past it.
   */
  awaitReadable(target?: bigint): Promise<void>;
  /**
   * A reader did not wait for them (readYourWrites: false): if they are still unreadable, make
   * sure it is woken once they are. The store ignores the echo of its own NOTIFYs (its readers
   * were woken at commit), but that echo used to be what got the last commits of a burst read
   * once the horizon passed them. So: wait `watchDelayMs`; if no wake-up came meanwhile (under
   * load the next commit brings one, and its read arms this again if need be), start the
   * horizon follower.
   */
  notAwaited(): void;
  /** The store woke its readers (a local commit, a notification): they read again. */
  woke(): void;
  close(): void;
}

export interface OwnWritesOptions {
  pool: pg.Pool;
  quotedSchema: string;
  statementName: string;
  /** How long awaitReadable waits before answering without them. */
  timeoutMs: number;
  /** Starts the horizon follower, which wakes the readers once the horizon passes the head. */
  follow(): void;
  watchDelayMs?: number;
}

export function createOwnWrites(options: OwnWritesOptions): OwnWrites {
  const { pool, timeoutMs, follow } = options;
  const watchDelayMs = options.watchDelayMs ?? 10;
  /** Highest position this instance has committed, and the highest readable horizon it has seen. */
  let ownCommitted = 0n;
  let seenHorizon = 0n;
  let wakes = 0;
  let watch: NodeJS.Timeout | undefined;
  let closed = false;
  const readable = (target: bigint) => target === 0n || target < seenHorizon;
  const horizonQuery = {
    name: `${options.statementName}:horizon`,
    text: `SELECT ${readableHorizonSql(options.quotedSchema)}::text AS horizon`,
    types: eventTypes,
  };

  return {
    committed(position) {
      ownCommitted = maxPosition(ownCommitted, position);
    },
    sawHorizon(horizon) {
      seenHorizon = maxPosition(seenHorizon, horizon);
    },
    latest: () => ownCommitted,
    readable,
    async awaitReadable(target = ownCommitted) {
      if (readable(target)) return;
      const deadline = Date.now() + timeoutMs;
      for (let delay = 1; ; delay = Math.min(delay * 2, 50)) {
        const result = await pool.query(horizonQuery).catch((error: unknown) => {
          throw toTypedError(error);
        });
        seenHorizon = maxPosition(seenHorizon, BigInt(result.rows[0].horizon as string));
        if (target < seenHorizon || Date.now() >= deadline || closed) return;
        await new Promise((resolve) => setTimeout(resolve, delay));
      }
    },
    notAwaited() {
      if (readable(ownCommitted) || watch || closed) return;
      const seen = wakes;
      watch = setTimeout(() => {
        watch = undefined;
        if (wakes === seen && !closed) follow();
      }, watchDelayMs);
      watch.unref();
    },
    woke() {
      wakes++;
    },
    close() {
      closed = true;
      if (watch) clearTimeout(watch);
      watch = undefined;
    },
  };
}
