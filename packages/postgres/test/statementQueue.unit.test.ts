import { createAppendTurns, ValidationError } from '@tidemark/core';
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import type { WatchedClient } from '../src/eventStore/connectionErrors.js';
import { createStatementQueue } from '../src/eventStore/statementQueue.js';

type Callback = (error: Error | undefined, result?: pg.QueryResult) => void;

/** A client whose statements stay in flight until the test answers them, as the server would. */
function fakeClient() {
  const inFlight: Array<{ text: unknown; callback: Callback }> = [];
  const sent: unknown[] = [];
  let mostAtOnce = 0;
  const client = {
    query(config: unknown, _values: unknown, callback: Callback) {
      if (config == null) throw new TypeError('Client was passed a null or undefined query');
      sent.push(config);
      // pg returns a Submittable itself; this fake never answers one.
      if (typeof (config as { submit?: unknown }).submit === 'function') return config;
      inFlight.push({ text: config, callback });
      mostAtOnce = Math.max(mostAtOnce, inFlight.length);
      return undefined;
    },
  };
  /** Answers the statement in flight, after a turn of the event loop (as a socket read would). */
  const answer = async (error?: Error) => {
    await new Promise((resolve) => setImmediate(resolve));
    const statement = inFlight.shift();
    if (!statement) throw new Error('no statement in flight');
    statement.callback(error, error ? undefined : ({ rows: [{ text: statement.text }], rowCount: 1 } as unknown as pg.QueryResult));
  };
  return { client: client as unknown as pg.PoolClient, sent, answer, mostAtOnce: () => mostAtOnce };
}

const connection: WatchedClient = { lost: undefined, check() {}, release() {} };

function serverError(message: string, code: string): pg.DatabaseError {
  return Object.assign(new pg.DatabaseError(message, 0, 'error'), { code });
}

describe('statement queue of a transaction', () => {
  it('sends one statement at a time, in the order issued, each caller getting its own result', async () => {
    const fake = fakeClient();
    const queue = createStatementQueue(fake.client, connection, () => {});
    const results = Promise.all(['a', 'b', 'c'].map((text) => queue.query(text)));
    expect(fake.sent).toEqual(['a']);
    for (let i = 0; i < 3; i++) await fake.answer();
    expect((await results).map((result) => result.rows[0])).toEqual([{ text: 'a' }, { text: 'b' }, { text: 'c' }]);
    expect(fake.mostAtOnce()).toBe(1);
  });

  it('does not send what waits behind a server error: those reject with 25P02 and the cause; later statements are sent', async () => {
    const fake = fakeClient();
    const queue = createStatementQueue(fake.client, connection, () => {});
    const settled = Promise.allSettled([queue.query('a'), queue.query('b'), queue.query('c')]);
    const failure = serverError('division by zero', '22012');
    await fake.answer(failure);
    const [first, ...waiting] = await settled;
    expect(first).toEqual({ status: 'rejected', reason: failure });
    for (const result of waiting) expect(result).toMatchObject({ status: 'rejected', reason: { code: '25P02', cause: failure } });
    const rollback = queue.query('ROLLBACK TO SAVEPOINT s');
    await fake.answer();
    await rollback;
    expect(fake.sent).toEqual(['a', 'ROLLBACK TO SAVEPOINT s']);
  });

  it('goes on after a client-side error, and after a statement pg refuses at once', async () => {
    const fake = fakeClient();
    const queue = createStatementQueue(fake.client, connection, () => {});
    const settled = Promise.allSettled([queue.query('a'), queue.query(null as unknown as string), queue.query('b')]);
    await fake.answer(new Error('a client-side failure'));
    await fake.answer();
    expect((await settled).map((result) => result.status)).toEqual(['rejected', 'rejected', 'fulfilled']);
    expect(fake.sent).toEqual(['a', 'b']);
  });

  it('resolves settled() once every statement issued so far has settled', async () => {
    const fake = fakeClient();
    const queue = createStatementQueue(fake.client, connection, () => {});
    await queue.settled();
    void queue.query('a');
    void queue.query('b');
    let settled = false;
    const done = queue.settled().then(() => {
      settled = true;
    });
    await fake.answer();
    expect(settled).toBe(false);
    await fake.answer();
    await done;
    expect(settled).toBe(true);
  });

  it('refuses a statement when the transaction is no longer usable, sending nothing', async () => {
    const fake = fakeClient();
    const queue = createStatementQueue(fake.client, connection, () => {
      throw new ValidationError('The transaction has already committed or rolled back');
    });
    await expect(queue.query('a')).rejects.toThrow(ValidationError);
    expect(fake.sent).toEqual([]);
  });

  it("queues the client's callback form too, and hands a Submittable to the client as it is", async () => {
    const fake = fakeClient();
    const queue = createStatementQueue(fake.client, connection, () => {});
    const first = queue.client.query('a');
    const called = new Promise((resolve) =>
      queue.client.query('b', (error: Error | undefined, result: pg.QueryResult) => resolve({ error, result })),
    );
    expect(fake.sent).toEqual(['a']);
    await fake.answer();
    await first;
    await fake.answer();
    expect(await called).toEqual({ error: null, result: { rows: [{ text: 'b' }], rowCount: 1 } });
    const submittable = { submit() {} };
    expect(queue.client.query(submittable as unknown as pg.Submittable)).toBe(submittable);
    expect(fake.sent).toEqual(['a', 'b', submittable]);
  });

  it("holds a statement issued beside a hooked append until the append settles; the append's own statements go at once", async () => {
    const fake = fakeClient();
    const turns = createAppendTurns();
    const queue = createStatementQueue(fake.client, connection, () => {}, turns);
    let finishHook = () => {};
    const hook = new Promise<void>((resolve) => {
      finishHook = resolve;
    });
    const append = turns.unit(async () => {
      const savepoint = queue.query('SAVEPOINT s');
      await fake.answer();
      await savepoint;
      await hook;
      const release = queue.query('RELEASE SAVEPOINT s');
      await fake.answer();
      await release;
    });
    await new Promise((resolve) => setImmediate(resolve));
    const beside = queue.query('beside');
    await new Promise((resolve) => setImmediate(resolve));
    expect(fake.sent).toEqual(['SAVEPOINT s']);
    finishHook();
    await append;
    expect(fake.sent).toEqual(['SAVEPOINT s', 'RELEASE SAVEPOINT s', 'beside']);
    await fake.answer();
    expect((await beside).rows[0]).toEqual({ text: 'beside' });
  });
});
