import { randomUUID } from 'node:crypto';
import type { OutgoingMessage, Transport } from '@tidemark/core';

/** The message type the transport contract publishes. */
export const type = 'contract.thing.happened';
/** Brokers redeliver on their own timers; allow them time, the tests wait for conditions, not for the clock. */
export const patience = 20_000;

/** A fresh world of the harness: a transport, and `connect()` for another one on the same world. */
export type TransportWorld = () => Promise<{ transport: Transport; connect(): Promise<Transport> }>;

export function message(key: string, n: number, overrides: Partial<OutgoingMessage> = {}): OutgoingMessage {
  return { id: randomUUID(), type, schemaVersion: 1, key, data: { n }, ...overrides };
}

/** Resolves when released; a handler awaiting it holds its message unacknowledged. */
export function gate(): { wait: Promise<void>; release(): void } {
  let release = () => {};
  const wait = new Promise<void>((resolve) => {
    release = resolve;
  });
  return { wait, release };
}
