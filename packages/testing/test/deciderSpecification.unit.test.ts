import { AssertionError } from 'node:assert';
import { type Decider, DomainError, type DomainEvent } from '@tidemark/core';
import { describe, expect, it } from 'vitest';
import { DeciderSpecification } from '../src/index.js';

// A deliberately small decider: a counter with a ceiling, enough to exercise every assertion.
type Added = DomainEvent<'test.counter.added', { by: number }>;
type Reset = DomainEvent<'test.counter.reset', Record<string, never>>;
type CounterEvent = Added | Reset;
type CounterCommand = { type: 'add'; by: number } | { type: 'reset' } | { type: 'explode' };
interface CounterState {
  total: number;
}

class CeilingReachedError extends DomainError {}

const counter: Decider<CounterCommand, CounterEvent, CounterState> = {
  initialState: () => ({ total: 0 }),
  evolve: (state, event) => (event.type === 'test.counter.added' ? { total: state.total + event.data.by } : { total: 0 }),
  decide(command, state) {
    switch (command.type) {
      case 'add':
        if (state.total + command.by > 10) throw new CeilingReachedError('ceiling is 10', { total: state.total });
        return [{ type: 'test.counter.added', data: { by: command.by } }];
      case 'reset':
        return state.total === 0 ? [] : [{ type: 'test.counter.reset', data: {} }];
      case 'explode':
        throw new TypeError('boom');
    }
  },
};

const added = (by: number): Added => ({ type: 'test.counter.added', data: { by } });
const spec = () => DeciderSpecification.for(counter);

/** Runs `assertion` and returns the AssertionError it must throw. */
function failureOf(assertion: () => unknown): AssertionError {
  try {
    assertion();
  } catch (error) {
    expect(error).toBeInstanceOf(AssertionError);
    return error as AssertionError;
  }
  throw new Error('the assertion passed but should have failed');
}

describe('DeciderSpecification', () => {
  describe('then', () => {
    it('passes when the decided events equal the expected ones, and returns the resulting state', () => {
      const state = spec()
        .given([added(2)])
        .when({ type: 'add', by: 3 })
        .then([added(3)]);
      expect(state).toEqual({ total: 5 });
    });

    it('starts from the initial state when no history is given', () => {
      expect(
        spec()
          .when({ type: 'add', by: 1 })
          .then([added(1)]),
      ).toEqual({ total: 1 });
    });

    it('fails with expected and actual events when they differ', () => {
      const error = failureOf(() =>
        spec()
          .when({ type: 'add', by: 3 })
          .then([added(4)]),
      );
      expect(error.actual).toEqual([added(3)]);
      expect(error.expected).toEqual([added(4)]);
      expect(error.message).toContain('expected:');
      expect(error.message).toContain('by: 4');
      expect(error.message).toContain('by: 3');
    });

    it('fails when the decider decides more events than expected', () => {
      failureOf(() =>
        spec()
          .given([added(1)])
          .when({ type: 'reset' })
          .then([]),
      );
    });

    it('fails, naming the error, when the decider throws instead', () => {
      const error = failureOf(() =>
        spec()
          .given([added(9)])
          .when({ type: 'add', by: 5 })
          .then([added(5)]),
      );
      expect(error.message).toContain('CeilingReachedError');
    });
  });

  describe('thenThrows', () => {
    it('passes for the thrown error class and returns the error', () => {
      const error = spec()
        .given([added(9)])
        .when({ type: 'add', by: 2 })
        .thenThrows(CeilingReachedError);
      expect((error as CeilingReachedError).details).toEqual({ total: 9 });
    });

    it('accepts a base class and a predicate', () => {
      spec()
        .given([added(9)])
        .when({ type: 'add', by: 2 })
        .thenThrows(DomainError);
      spec()
        .given([added(9)])
        .when({ type: 'add', by: 2 })
        .thenThrows((error) => error instanceof DomainError && error.code === 'domain_rule');
    });

    it('fails when a different error class is thrown', () => {
      const error = failureOf(() => spec().when({ type: 'explode' }).thenThrows(CeilingReachedError));
      expect(error.message).toContain('CeilingReachedError');
      expect(error.message).toContain('boom');
    });

    it('fails when the predicate rejects the error', () => {
      failureOf(() =>
        spec()
          .when({ type: 'explode' })
          .thenThrows((error) => error instanceof DomainError),
      );
    });

    it('fails, showing the events, when the command is accepted', () => {
      const error = failureOf(() => spec().when({ type: 'add', by: 1 }).thenThrows(CeilingReachedError));
      expect(error.actual).toEqual([added(1)]);
    });
  });

  describe('thenNothingHappens', () => {
    it('passes when no events are decided', () => {
      spec().when({ type: 'reset' }).thenNothingHappens();
    });

    it('fails when events are decided', () => {
      const error = failureOf(() =>
        spec()
          .given([added(1)])
          .when({ type: 'reset' })
          .thenNothingHappens(),
      );
      expect(error.actual).toEqual([{ type: 'test.counter.reset', data: {} }]);
    });

    it('fails when the decider throws', () => {
      failureOf(() => spec().when({ type: 'explode' }).thenNothingHappens());
    });
  });

  describe('thenState', () => {
    it('compares the state after history and decided events', () => {
      spec()
        .given([added(2), added(2)])
        .when({ type: 'add', by: 1 })
        .thenState({ total: 5 });
      spec()
        .given([added(2)])
        .when({ type: 'reset' })
        .thenState((state) => state.total === 0);
    });

    it('fails with expected and actual state when they differ', () => {
      const error = failureOf(() =>
        spec()
          .given([added(2)])
          .when({ type: 'add', by: 1 })
          .thenState({ total: 4 }),
      );
      expect(error.actual).toEqual({ total: 3 });
      expect(error.expected).toEqual({ total: 4 });
    });

    it('fails when the predicate rejects the state', () => {
      failureOf(() =>
        spec()
          .when({ type: 'add', by: 1 })
          .thenState((state) => state.total === 2),
      );
    });
  });

  it('decides only once however the outcome is inspected', () => {
    let calls = 0;
    const counting: typeof counter = {
      ...counter,
      decide: (command, state) => {
        calls++;
        return counter.decide(command, state);
      },
    };
    DeciderSpecification.for(counting)
      .when({ type: 'add', by: 1 })
      .then([added(1)]);
    expect(calls).toBe(1);
  });
});

describe('DeciderSpecification misuse', () => {
  it('rejects an await on when(...) instead of silently passing', async () => {
    const pending = spec().when({ type: 'add', by: 1 }) as unknown as PromiseLike<unknown>;
    await expect((async () => await pending)()).rejects.toThrow(/synchronous/);
  });
});
