import {
  type CommandBus,
  type EventStore,
  type IdempotencyKeyStore,
  runIdempotent,
  type SnapshotStore,
  type StoreTransaction,
  stringifyWithPositions,
  ValidationError,
} from '@tidemark/core';
import { createShopBuses, type ShopBuses, type ShopCommands } from '../shopMessages.js';
import type { CommandContext } from './commandContext.js';

/** What the routes send commands through: the bus, with the request's idempotency key honoured. */
export interface ShopCommandSender {
  send<K extends keyof ShopCommands & string>(
    type: K,
    payload: ShopCommands[K]['payload'],
    context: CommandContext,
  ): Promise<ShopCommands[K]['result']>;
}

/**
 * Without an Idempotency-Key a command goes straight to the bus. With one, it runs once per key
 * (runIdempotent): in one transaction the key is looked up, and either the first answer is
 * returned (nothing run again) or the command runs on buses bound to that transaction, so its
 * events and the stored answer commit together. The answer is stored as the JSON the client
 * received (positions as decimal strings), so a replay is byte for byte the first response's body.
 */
export function createShopCommandSender<Tx extends StoreTransaction>(
  store: EventStore<Tx>,
  commands: CommandBus<ShopCommands>,
  keys: IdempotencyKeyStore<Tx> | undefined,
  snapshots: SnapshotStore,
): ShopCommandSender {
  return {
    async send(type, payload, context) {
      const { idempotency } = context;
      if (!idempotency) return commands.send(type, payload, context.metadata);
      if (!keys) throw new ValidationError('This server does not accept Idempotency-Key', { header: 'idempotency-key' });
      // With If-Match a conflict is the client's answer (409), not a reason to run again.
      const retry = context.expectedVersion === undefined;
      const outcome = await runIdempotent(store, keys, { ...idempotency, retry }, async (tx) => {
        const result = await createShopBuses(tx, snapshots).commands.send(type, payload, context.metadata);
        return JSON.parse(stringifyWithPositions(result)) as unknown;
      });
      return outcome.result as ShopCommands[typeof type]['result'];
    },
  };
}

/** What the route modules get: commands through the sender, queries straight to the bus. */
export interface ShopRouteBuses {
  commands: ShopCommandSender;
  queries: ShopBuses['queries'];
}
