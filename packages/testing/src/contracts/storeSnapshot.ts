import { type EventStore, type ReadAllOptions, type RecordedEvent, stringifyWithPositions } from '@tidemark/core';
import { expect } from 'vitest';
import { waitFor } from '../waitFor.js';

export async function readAllEvents(store: EventStore, options?: ReadAllOptions): Promise<RecordedEvent[]> {
  const events: RecordedEvent[] = [];
  for await (const event of store.readAll(options)) events.push(event);
  return events;
}

/** What a store holds, as readers see it: the basis of every "nothing was written" assertion. */
export interface StoreSnapshot {
  head: bigint;
  ids: string[];
}

/**
 * Waits until readAll and headPosition show everything up to `position`. A store may make
 * committed events visible to global readers a little later (PostgreSQL holds positions back
 * while older transactions anywhere on the server are still running, so that no reader ever
 * skips one); streams reads are immediate, global reads are eventually complete.
 */
export async function waitForHead(store: EventStore, position: bigint, timeoutMs = 10_000): Promise<void> {
  await waitFor(async () => (await store.headPosition()) >= position, `headPosition to reach ${position}`, timeoutMs);
}

/** What the store holds once global readers see at least up to `atLeast` (the last position the test wrote). */
export async function storeSnapshot(store: EventStore, atLeast = 0n): Promise<StoreSnapshot> {
  await waitForHead(store, atLeast);
  const head = await store.headPosition();
  const ids = (await readAllEvents(store)).map((event) => event.id);
  return { head, ids };
}

/** Asserts the store holds exactly what it held at `before`: nothing written, nothing lost. */
export async function expectUnchanged(store: EventStore, before: StoreSnapshot): Promise<void> {
  expect(await storeSnapshot(store, before.head)).toEqual(before);
}

/**
 * Runs `action` and returns the error it raised, asserting its class. A call that succeeds
 * fails the test. Accepts synchronous throws too, since adapters may validate before awaiting.
 */
export async function caught<E extends Error>(action: () => Promise<unknown>, type: abstract new (...args: never[]) => E): Promise<E> {
  let outcome: unknown;
  try {
    outcome = await action();
  } catch (error) {
    expect(error, `expected ${type.name}, got ${String(error)}`).toBeInstanceOf(type);
    return error as E;
  }
  throw new Error(`expected ${type.name}, but the call succeeded with ${stringifyWithPositions(outcome)?.slice(0, 200)}`);
}
