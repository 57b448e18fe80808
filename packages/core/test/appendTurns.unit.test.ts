import { createAppendTurns } from '@tidemark/core';
import { describe, expect, it } from 'vitest';

const turn = () => new Promise((resolve) => setImmediate(resolve));

describe('createAppendTurns', () => {
  it('runs units one at a time in call order, and holds calls issued meanwhile until the unit settles', async () => {
    const turns = createAppendTurns();
    const log: string[] = [];
    const unit = (name: string, pauses: number) =>
      turns.unit(async () => {
        log.push(`${name} start`);
        for (let i = 0; i < pauses; i++) await turn();
        log.push(`${name} end`);
        return name;
      });
    const call = (name: string) => turns.call(async () => void log.push(name));
    const results = await Promise.all([unit('a', 3), call('read 1'), unit('b', 1), call('read 2'), call('read 3'), unit('c', 0)]);
    expect(results).toEqual(['a', undefined, 'b', undefined, undefined, 'c']);
    expect(log).toEqual(['a start', 'a end', 'read 1', 'b start', 'b end', 'read 2', 'read 3', 'c start', 'c end']);
  });

  it("lets a unit's own calls and nested units through (no deadlock), taking turns among themselves", async () => {
    const turns = createAppendTurns();
    const log: string[] = [];
    const outer = (name: string) =>
      turns.unit(async () => {
        log.push(`${name} start`);
        await turn();
        // What a hook does: calls on the same transaction, concurrently.
        await Promise.all([
          turns.unit(async () => {
            await turn();
            log.push(`${name} nested 1`);
          }),
          turns.call(async () => void log.push(`${name} call`)),
          turns.unit(async () => void log.push(`${name} nested 2`)),
        ]);
        log.push(`${name} end`);
      });
    await Promise.all([outer('a'), turns.call(async () => void log.push('sibling call')), outer('b')]);
    expect(log).toEqual([
      'a start',
      'a nested 1',
      'a call',
      'a nested 2',
      'a end',
      'sibling call',
      'b start',
      'b nested 1',
      'b call',
      'b nested 2',
      'b end',
    ]);
  });

  it('releases the turn when a unit fails, and the failure reaches its caller alone', async () => {
    const turns = createAppendTurns();
    const failure = new Error('hook failed');
    const failing = turns.unit(async () => {
      await turn();
      throw failure;
    });
    const next = turns.unit(async () => 'next');
    await expect(failing).rejects.toBe(failure);
    expect(await next).toBe('next');
  });

  it('treats a call left behind by a settled unit as a call of the level above', async () => {
    const turns = createAppendTurns();
    const log: string[] = [];
    let release = () => {};
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    let leftBehind: Promise<void> | undefined;
    await turns.unit(async () => {
      // Not awaited: it runs in the unit's async context, but once the unit has settled.
      leftBehind = gate.then(() => turns.call(async () => void log.push('left behind')));
    });
    const second = turns.unit(async () => {
      log.push('second start');
      release();
      for (let i = 0; i < 3; i++) await turn();
      log.push('second end');
    });
    await Promise.all([leftBehind, second]);
    expect(log).toEqual(['second start', 'second end', 'left behind']);
  });

  it("does not count another transaction's unit as its own", async () => {
    const mine = createAppendTurns();
    const other = createAppendTurns();
    const log: string[] = [];
    await other.unit(async () => {
      // Called from inside the other transaction's unit, as a hook of one store may call another.
      const first = mine.unit(async () => {
        await turn();
        log.push('first');
      });
      const second = mine.unit(async () => void log.push('second'));
      await Promise.all([first, second]);
    });
    expect(log).toEqual(['first', 'second']);
  });

  describe('idle', () => {
    it('resolves once the units, tracked appends and held calls left running have settled, at every level', async () => {
      const turns = createAppendTurns();
      const log: string[] = [];
      await turns.idle();
      void turns.unit(async () => {
        await turn();
        // A hook's own append: a unit one level down.
        await turns.unit(async () => {
          await turn();
          log.push('nested');
        });
        log.push('unit');
      });
      void turns.call(async () => void log.push('held call'));
      void turns.track(async () => {
        for (let i = 0; i < 4; i++) await turn();
        log.push('tracked');
      });
      await turns.idle();
      expect(log).toEqual(['nested', 'unit', 'held call', 'tracked']);
    });

    it('rejects with the first failure among what was left running, once all of it has settled', async () => {
      const turns = createAppendTurns();
      const failure = new Error('hook failed');
      const log: string[] = [];
      const failing = turns
        .unit(async () => {
          await turn();
          throw failure;
        })
        .catch((error: unknown) => error);
      const later = turns.unit(async () => {
        await turn();
        log.push('later');
      });
      await expect(turns.idle()).rejects.toBe(failure);
      expect(log).toEqual(['later']);
      // Its caller gets it too.
      expect(await failing).toBe(failure);
      await later;
    });

    it("ignores failures that settled before it was called, and those a unit's own work handled", async () => {
      const turns = createAppendTurns();
      await turns
        .unit(async () => {
          throw new Error('seen by the work');
        })
        .catch(() => {});
      const unit = turns.unit(async () => {
        await turn();
        // Its hook catches its own append's failure: the unit, and the transaction, go on.
        await turns
          .unit(async () => {
            await turn();
            throw new Error('caught by the hook');
          })
          .catch(() => {});
        return 'done';
      });
      await turns.idle();
      expect(await unit).toBe('done');
    });

    it('counts the failure of a tracked append, which takes no turn', async () => {
      const turns = createAppendTurns();
      const failure = new Error('conflict');
      const log: string[] = [];
      const unit = turns.unit(async () => {
        await turn();
        await turn();
        log.push('unit');
      });
      const tracked = turns
        .track(async () => {
          log.push('tracked');
          await turn();
          throw failure;
        })
        .catch((error: unknown) => error);
      await expect(turns.idle()).rejects.toBe(failure);
      // It ran at once, beside the unit in flight.
      expect(log).toEqual(['tracked', 'unit']);
      await unit;
      expect(await tracked).toBe(failure);
    });
  });
});
