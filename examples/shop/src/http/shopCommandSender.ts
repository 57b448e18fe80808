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

/**
 * The personal data an account command answers with (shopPersonalData: the owner's name and
 * e-mail). A keyed command's answer is stored for a day for its replays, in clear: forgetting
 * the customer destroys the key of the events' copy, not that one, and a replay would hand the
 * forgotten name back. So it is stored without them (null, keeping the fields' places) and a
 * replay reads them from the account then.
 */
const personalFields = ['owner', 'email'] as const;

function withoutPersonalData(result: Record<string, unknown>): Record<string, unknown> {
  const stored = { ...result };
  for (const field of personalFields) if (field in stored) stored[field] = null;
  return stored;
}

/**
 * At most `max` calls of `run` at once; the others wait their turn, first come first served. A
 * keyed command's transaction holds a pooled connection while its account's snapshot and its
 * owner's key are read on other connections of the same pool (autocommit, outside it, by
 * design): as many such transactions as the pool has connections would each wait for a
 * connection none gives back, until the pool's connection timeout failed them all.
 */
function concurrencyLimit(max: number): <T>(run: () => Promise<T>) => Promise<T> {
  let active = 0;
  const waiting: Array<() => void> = [];
  return async (run) => {
    if (active < max) active++;
    else await new Promise<void>((resolve) => waiting.push(resolve));
    try {
      return await run();
    } finally {
      // The slot passes to the next in line, or is given back.
      const next = waiting.shift();
      if (next) next();
      else active--;
    }
  };
}

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
 * received (positions as decimal strings) but for its personal data, read again on a replay: a
 * replay is the first response's body, its name and e-mail '[redacted]' once the customer is forgotten.
 */
export function createShopCommandSender<Tx extends StoreTransaction>(
  store: EventStore<Tx>,
  commands: CommandBus<ShopCommands>,
  keys: IdempotencyKeyStore<Tx> | undefined,
  snapshots: SnapshotStore,
  maxConcurrentTransactions = Number.POSITIVE_INFINITY,
): ShopCommandSender {
  const limit = concurrencyLimit(maxConcurrentTransactions);
  const { queries } = createShopBuses(store, snapshots);
  /** A replay's personal data as the account holds it now: the first answer's, or '[redacted]' once forgotten. */
  const withPersonalDataNow = async (stored: unknown): Promise<unknown> => {
    const result = stored as Record<string, unknown>;
    if (!personalFields.some((field) => field in result) || typeof result.accountId !== 'string') return result;
    const account = (await queries.ask('bank.account.get', { accountId: result.accountId })) as unknown as Record<string, unknown>;
    for (const field of personalFields) {
      if (!(field in result)) continue;
      if (account[field] === undefined) delete result[field];
      else result[field] = account[field];
    }
    return result;
  };
  return {
    async send(type, payload, context) {
      const { idempotency } = context;
      if (!idempotency) return commands.send(type, payload, context.metadata);
      if (!keys) throw new ValidationError('This server does not accept Idempotency-Key', { header: 'idempotency-key' });
      // With If-Match a conflict is the client's answer (409), not a reason to run again.
      const retry = context.expectedVersion === undefined;
      let answered: Record<string, unknown> | undefined;
      const outcome = await limit(() =>
        runIdempotent(store, keys, { ...idempotency, retry }, async (tx) => {
          const result = await createShopBuses(tx, snapshots).commands.send(type, payload, context.metadata);
          answered = JSON.parse(stringifyWithPositions(result)) as Record<string, unknown>;
          return withoutPersonalData(answered);
        }),
      );
      if (!outcome.replayed && answered) return answered as unknown as ShopCommands[typeof type]['result'];
      return (await withPersonalDataNow(outcome.result)) as ShopCommands[typeof type]['result'];
    },
  };
}

/** What the route modules get: commands through the sender, queries straight to the bus. */
export interface ShopRouteBuses {
  commands: ShopCommandSender;
  queries: ShopBuses['queries'];
}
