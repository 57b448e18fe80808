import { randomUUID } from 'node:crypto';
import type { DeadLetteredMessage, OutgoingMessage, Transport } from '@tidemark/core';
import { reportChaos } from '../chaosReport.js';
import { waitFor } from '../waitFor.js';

export interface PoisonScenarioResult {
  readonly sent: number;
  readonly poison: readonly string[];
  /** Ids of the good messages whose effect was applied. */
  readonly applied: ReadonlySet<string>;
  /** Attempts each poison message was seen with, by id. */
  readonly poisonAttempts: ReadonlyMap<string, number[]>;
  readonly deadLetters: readonly DeadLetteredMessage[];
}

/**
 * Poison messages among good traffic: every `poisonEvery`-th message always fails. Waits until
 * every good message is applied and every poison message is dead-lettered.
 */
export async function runPoisonScenario(
  transport: Transport,
  options: { messages: number; poisonEvery: number; maxDeliveries: number; keys?: number; timeoutMs?: number },
): Promise<PoisonScenarioResult> {
  const type = 'chaos.poison.happened';
  const group = `poison-${randomUUID()}`;
  const keys = options.keys ?? 8;
  const messages: OutgoingMessage[] = Array.from({ length: options.messages }, (_, n) => ({
    id: randomUUID(),
    type,
    schemaVersion: 1,
    key: `key-${n % keys}`,
    data: { n, poison: n % options.poisonEvery === options.poisonEvery - 1 },
  }));
  const poison = messages.filter((m) => (m.data as { poison: boolean }).poison).map((m) => m.id);
  const applied = new Set<string>();
  const poisonAttempts = new Map<string, number[]>();
  const consumer = await transport.consume(
    { group, types: [type], concurrency: 4, maxDeliveries: options.maxDeliveries, retryDelayMs: () => 20 },
    async (message) => {
      if ((message.data as { poison: boolean }).poison) {
        poisonAttempts.set(message.id, [...(poisonAttempts.get(message.id) ?? []), message.attempt]);
        throw new Error(`poison ${message.id} failed on attempt ${message.attempt}`);
      }
      applied.add(message.id);
    },
  );
  let deadLetters: DeadLetteredMessage[] = [];
  try {
    await transport.publish(messages);
    const timeoutMs = options.timeoutMs ?? 60_000;
    await waitFor(() => applied.size === messages.length - poison.length, 'every good message to be applied', timeoutMs);
    await waitFor(
      async () => {
        deadLetters = await transport.deadLetters(group);
        return deadLetters.length >= poison.length;
      },
      'every poison message to be dead-lettered',
      timeoutMs,
    );
  } finally {
    await consumer.stop();
  }
  return { sent: messages.length, poison, applied, poisonAttempts, deadLetters };
}

/**
 * Reports a poison run to `npm run chaos` (reportChaos), before the test asserts on it: runs are
 * the poison messages; a message is delivered when its effect was applied (good) or it was
 * dead-lettered (poison); a poison message dead-lettered twice counts as a duplicate.
 */
export function reportPoison(result: PoisonScenarioResult, backend: string): void {
  const dead = new Set(result.deadLetters.map((letter) => letter.message.id));
  const delivered = result.applied.size + [...dead].filter((id) => result.poison.includes(id)).length;
  reportChaos({
    case: 'poison',
    backend,
    runs: result.poison.length,
    sent: result.sent,
    delivered,
    lost: result.sent - delivered,
    duplicateEffects: result.deadLetters.length - dead.size,
  });
}
