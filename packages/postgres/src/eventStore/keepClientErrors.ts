import type pg from 'pg';

/** How many stores of this process use each pool, for the one listener they share. */
const users = new WeakMap<pg.Pool, number>();

const ignoreError = () => {};
const listen = (client: pg.PoolClient) => client.on('error', ignoreError);

/**
 * Every client of the pool keeps an 'error' listener of its own for life. pg-pool listens only
 * while a client is idle, and hands out a new client from inside the socket callback that read
 * its ReadyForQuery: a session terminated as it connects has its FATAL in the same chunk,
 * emitted before any caller could listen, and an unheard 'error' crashes the process. The loss
 * still surfaces: the next statement fails (typed, see connectionErrors.ts) and the client is
 * destroyed on release.
 *
 * One 'connect' listener per pool however many stores share it (a caller's pool may serve
 * many: one each made Node warn of a listener leak past ten); the returned function gives it
 * up, and the last store to close removes it.
 */
export function keepClientErrors(pool: pg.Pool): () => void {
  const count = users.get(pool) ?? 0;
  if (count === 0) pool.on('connect', listen);
  users.set(pool, count + 1);
  let released = false;
  return () => {
    if (released) return;
    released = true;
    const left = (users.get(pool) ?? 1) - 1;
    users.set(pool, left);
    if (left === 0) pool.off('connect', listen);
  };
}
