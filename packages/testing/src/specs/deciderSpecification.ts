import { AssertionError } from 'node:assert';
import { inspect, isDeepStrictEqual } from 'node:util';
import type { Decider, DomainEvent } from '@tidemark/core';

/** An error class (matched with instanceof) or a predicate over the thrown value. */
export type ErrorExpectation = (abstract new (...args: never[]) => unknown) | ((error: unknown) => boolean);

/** What `when` hands back: exactly one of these assertions ends the specification. */
export interface DeciderThen<Event extends DomainEvent, State> {
  /** The command decides exactly these events, in this order. Returns the state they lead to. */
  then(expected: readonly Event[]): State;
  /** The command is rejected with this error class, or an error the predicate accepts. Returns the error. */
  thenThrows(expected: ErrorExpectation): unknown;
  /** The command is accepted and decides no events (an idempotent repeat, say). */
  thenNothingHappens(): void;
  /**
   * The state after the given events and the decided ones equals `expected` (deep equality) or
   * satisfies the predicate. A rejected command fails this assertion.
   */
  thenState(expected: State | ((state: State) => boolean)): State;
}

export interface DeciderWhen<Command, Event extends DomainEvent, State> {
  when(command: Command): DeciderThen<Event, State>;
}

export interface DeciderGiven<Command, Event extends DomainEvent, State> extends DeciderWhen<Command, Event, State> {
  /** The history the command meets; `when` alone starts from the initial state. */
  given(events: readonly Event[]): DeciderWhen<Command, Event, State>;
}

const show = (value: unknown): string => inspect(value, { depth: 8, breakLength: 100, sorted: true });

function isErrorClass(expected: ErrorExpectation): expected is abstract new (...args: never[]) => unknown {
  // Classes (and old-style constructors) have a prototype object; arrow-function predicates do not.
  // A plain `function` predicate also has one, so additionally require it to be Error-derived.
  const prototype = (expected as { prototype?: unknown }).prototype;
  return typeof prototype === 'object' && prototype !== null && (expected === Error || prototype instanceof Error);
}

function describeExpectation(expected: ErrorExpectation): string {
  return isErrorClass(expected)
    ? `an instance of ${expected.name}`
    : `an error accepted by the predicate ${expected.name || '(anonymous)'}`;
}

function fail(message: string, actual: unknown, expected: unknown, operator: string): never {
  // AssertionError carries actual/expected so test runners (vitest, node:test) render a diff.
  throw new AssertionError({ message, actual, expected, operator });
}

type Outcome<Event> = { kind: 'events'; events: Event[] } | { kind: 'error'; error: unknown };

/**
 * Given/when/then for deciders: the history is folded with `evolve`, the command meets the
 * resulting state through `decide`, and exactly one assertion checks the outcome. Everything is
 * synchronous because deciders are pure, so a specification reads like the rule it tests:
 *
 *     DeciderSpecification.for(bankAccount)
 *       .given([opened(1000)])
 *       .when(withdraw(2000))
 *       .thenThrows(InsufficientFundsError);
 */
export const DeciderSpecification = {
  for<Command, Event extends DomainEvent, State>(decider: Decider<Command, Event, State>): DeciderGiven<Command, Event, State> {
    const when =
      (history: readonly Event[]) =>
      (command: Command): DeciderThen<Event, State> => {
        const given = history.reduce((state, event) => decider.evolve(state, event), decider.initialState());
        let outcome: Outcome<Event> | undefined;
        // Decide lazily and once, so the assertion chosen decides how a throw is reported.
        const run = (): Outcome<Event> => {
          if (!outcome) {
            try {
              outcome = { kind: 'events', events: decider.decide(command, given) };
            } catch (error) {
              outcome = { kind: 'error', error };
            }
          }
          return outcome;
        };
        const decidedEvents = (expectation: string): Event[] => {
          const result = run();
          if (result.kind === 'error') {
            fail(`Expected ${expectation}, but the decider threw ${show(result.error)}`, result.error, expectation, 'decide');
          }
          return result.events;
        };
        const evolveAll = (events: readonly Event[]) => events.reduce((state, event) => decider.evolve(state, event), given);
        return {
          // biome-ignore lint/suspicious/noThenProperty: given/when/then is the vocabulary of the spec; awaiting it is caught below.
          then(expected) {
            if (typeof expected === 'function') {
              // `await spec.when(...)` calls then(resolve, reject): say so instead of comparing a function.
              throw new TypeError('DeciderSpecification is synchronous: do not await when(...); call .then([...events]) on it');
            }
            const actual = decidedEvents(`events ${show(expected)}`);
            if (!isDeepStrictEqual(actual, expected)) {
              fail(
                `The decider decided other events than expected.\nexpected: ${show(expected)}\nactual:   ${show(actual)}`,
                actual,
                expected,
                'then',
              );
            }
            return evolveAll(actual);
          },
          thenThrows(expected) {
            const result = run();
            if (result.kind === 'events') {
              fail(
                `Expected the command to be rejected with ${describeExpectation(expected)}, but it decided ${show(result.events)}`,
                result.events,
                describeExpectation(expected),
                'thenThrows',
              );
            }
            const matches = isErrorClass(expected)
              ? result.error instanceof expected
              : (expected as (error: unknown) => boolean)(result.error);
            if (!matches) {
              fail(
                `Expected the command to be rejected with ${describeExpectation(expected)}, but it threw ${show(result.error)}`,
                result.error,
                describeExpectation(expected),
                'thenThrows',
              );
            }
            return result.error;
          },
          thenNothingHappens() {
            const actual = decidedEvents('no events');
            if (actual.length > 0) fail(`Expected no events, but the decider decided ${show(actual)}`, actual, [], 'thenNothingHappens');
          },
          thenState(expected) {
            const state = evolveAll(decidedEvents('a state'));
            const ok = typeof expected === 'function' ? (expected as (state: State) => boolean)(state) : isDeepStrictEqual(state, expected);
            if (!ok) {
              const wanted = typeof expected === 'function' ? `a state accepted by ${expected.name || 'the predicate'}` : expected;
              fail(
                `The state after the command is not as expected.\nexpected: ${show(wanted)}\nactual:   ${show(state)}`,
                state,
                wanted,
                'thenState',
              );
            }
            return state;
          },
        };
      };
    return {
      given: (events) => ({ when: when(events) }),
      when: when([]),
    };
  },
};
