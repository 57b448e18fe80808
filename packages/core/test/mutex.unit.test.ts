import { createMutex } from '@tidemark/core';
import { describe, expect, it } from 'vitest';

/** A promise the test settles by hand: work that holds the lock until told to finish. */
function gate() {
  let open!: () => void;
  const opened = new Promise<void>((resolve) => {
    open = resolve;
  });
  return { open, opened };
}

describe('createMutex', () => {
  it('runs work one at a time, in the order it was queued', async () => {
    const mutex = createMutex();
    const log: string[] = [];
    let inside = 0;
    const jobs = Array.from({ length: 5 }, (_, i) =>
      mutex.run(async () => {
        inside++;
        expect(inside).toBe(1);
        log.push(`start ${i}`);
        // Yield several times: another job would get in here if the lock leaked.
        for (let k = 0; k < 3; k++) await Promise.resolve();
        log.push(`end ${i}`);
        inside--;
        return i;
      }),
    );
    expect(await Promise.all(jobs)).toEqual([0, 1, 2, 3, 4]);
    expect(log).toEqual([0, 1, 2, 3, 4].flatMap((i) => [`start ${i}`, `end ${i}`]));
  });

  it('reports locked while work is held or queued', async () => {
    const mutex = createMutex();
    expect(mutex.locked).toBe(false);
    const first = gate();
    const running = mutex.run(() => first.opened);
    const queued = mutex.run(async () => 'second');
    expect(mutex.locked).toBe(true);
    first.open();
    await running;
    expect(await queued).toBe('second');
    // Release happens in a continuation of the work's promise.
    await Promise.resolve();
    expect(mutex.locked).toBe(false);
  });

  it('releases the lock when work fails, and passes the failure to its caller only', async () => {
    const mutex = createMutex();
    const failure = new Error('boom');
    const failed = mutex.run(async () => {
      throw failure;
    });
    const next = mutex.run(async () => 'ran');
    await expect(failed).rejects.toBe(failure);
    expect(await next).toBe('ran');
  });

  it('keeps queued work waiting until the holder finishes', async () => {
    const mutex = createMutex();
    const holder = gate();
    let secondStarted = false;
    const first = mutex.run(() => holder.opened);
    const second = mutex.run(async () => {
      secondStarted = true;
    });
    for (let k = 0; k < 10; k++) await Promise.resolve();
    expect(secondStarted).toBe(false);
    holder.open();
    await Promise.all([first, second]);
    expect(secondStarted).toBe(true);
  });
});
