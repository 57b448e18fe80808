import type pg from 'pg';
import { readableHorizonSql } from './readableHorizon.js';

export interface HorizonFollower {
  /** After another process's append notification: wake readers again once what it committed is readable. */
  notified(): void;
  close(): void;
}

/**
 * A notification from another process can arrive while its events are still unreadable: a
 * transaction open anywhere on the server holds the readable horizon back. The readers it
 * wakes find nothing new and go back to sleep until their next poll — seconds, or a minute —
 * although the events become readable the moment that transaction ends. So after each
 * notification, look once whether committed events lie past the horizon; if so, follow the
 * horizon (backing off to `maxIntervalMs`) and wake the readers when it has passed them.
 * One follower at a time; it gives up after `giveUpMs` (the readers' polling takes over).
 */
export function createHorizonFollower(
  pool: pg.Pool,
  quotedSchema: string,
  wake: () => void,
  maxIntervalMs = 200,
  giveUpMs = 120_000,
): HorizonFollower {
  let following = false;
  let again = false;
  let closed = false;

  async function follow(): Promise<void> {
    const { rows } = await pool.query<{ target: string | null; horizon: string }>(
      `SELECT (SELECT max(position) FROM ${quotedSchema}.events)::text AS target, ${readableHorizonSql(quotedSchema)}::text AS horizon`,
    );
    const target = rows[0]?.target;
    if (target === null || target === undefined) return;
    // Already readable: the readers woken by the notification may have read a moment before
    // the horizon passed it, so wake them once more rather than leave them to their poll.
    if (BigInt(target) < BigInt(rows[0]?.horizon ?? '0')) {
      wake();
      return;
    }
    const deadline = Date.now() + giveUpMs;
    for (let delay = 5; !closed && Date.now() < deadline; delay = Math.min(delay * 2, maxIntervalMs)) {
      await new Promise((resolve) => setTimeout(resolve, delay));
      const result = await pool.query<{ horizon: string }>(`SELECT ${readableHorizonSql(quotedSchema)}::text AS horizon`);
      if (BigInt(result.rows[0]?.horizon ?? '0') > BigInt(target)) {
        wake();
        return;
      }
    }
  }

  function run(): void {
    if (closed) return;
    if (following) {
      again = true;
      return;
    }
    following = true;
    again = false;
    follow()
      .catch(() => {
        // A hint only: the readers' polling covers whatever this misses.
      })
      .finally(() => {
        following = false;
        if (again) run();
      });
  }

  return {
    notified: run,
    close() {
      closed = true;
    },
  };
}
