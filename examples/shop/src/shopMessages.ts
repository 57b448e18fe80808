import {
  type CommandBus,
  createCommandBus,
  createQueryBus,
  type QueryBus,
  type SnapshotStore,
  type StateCache,
  type StreamOperations,
} from '@tidemark/core';
import { type BankAccountCommands, type BankAccountQueries, registerBankAccounts } from './bankAccounts/bankAccountMessages.js';
import { type InventoryCommands, type InventoryQueries, registerInventory } from './inventory/inventoryMessages.js';
import { type OrderCommands, type OrderQueries, registerOrders } from './orders/orderMessages.js';

/** Every command the shop accepts, by bus type; each bounded context contributes its own. */
export type ShopCommands = BankAccountCommands & OrderCommands & InventoryCommands;
export type ShopQueries = BankAccountQueries & OrderQueries & InventoryQueries;

export interface ShopBuses {
  commands: CommandBus<ShopCommands>;
  queries: QueryBus<ShopQueries>;
}

/**
 * Wires every bounded context onto one command bus and one query bus over the given store — or
 * over one transaction of it (a command run with an idempotency key writes its events and the
 * key in one transaction). Bank accounts keep snapshots in `snapshots`; `accountStates` caches
 * the accounts' decider states between commands (shared, so that forgetting a customer can evict
 * them).
 */
export function createShopBuses(store: StreamOperations, snapshots: SnapshotStore, accountStates?: StateCache): ShopBuses {
  const commands = createCommandBus<ShopCommands>();
  const queries = createQueryBus<ShopQueries>();
  registerBankAccounts(store, commands, queries, snapshots, accountStates);
  registerOrders(store, commands, queries);
  registerInventory(store, commands, queries);
  return { commands, queries };
}
