import type { CommandBus, QueryBus, StreamOperations } from '@tidemark/core';
import { type CommandEnvelope, deciderCommandHandler, type WriteResult } from '../shared/deciderCommandHandler.js';
import type { ShopCommands, ShopQueries } from '../shopMessages.js';
import { inventoryStreamId, type ReceiveStock, type ReleaseReservation, type ReserveStock } from './inventoryCommands.js';
import { availableQuantity, type InventoryState, inventoryDecider, reservedQuantity } from './inventoryDecider.js';
import { InventoryItemNotFoundError } from './inventoryErrors.js';

export interface InventoryView {
  sku: string;
  onHand: number;
  reserved: number;
  available: number;
  reservations: Array<{ orderId: string; quantity: number }>;
}

export const inventoryView = (state: InventoryState): InventoryView => ({
  sku: state.sku,
  onHand: state.onHand,
  reserved: reservedQuantity(state),
  available: availableQuantity(state),
  reservations: Object.entries(state.reservations).map(([orderId, quantity]) => ({ orderId, quantity })),
});

export type InventoryCommands = {
  'inventory.item.receive': { payload: CommandEnvelope<ReceiveStock['data']>; result: WriteResult<InventoryView> };
  'inventory.item.reserve': { payload: CommandEnvelope<ReserveStock['data']>; result: WriteResult<InventoryView> };
  'inventory.item.release': { payload: CommandEnvelope<ReleaseReservation['data']>; result: WriteResult<InventoryView> };
};

export type InventoryQueries = {
  'inventory.item.get': { payload: { sku: string }; result: InventoryView & { version: number } };
};

export function registerInventory(store: StreamOperations, commands: CommandBus<ShopCommands>, queries: QueryBus<ShopQueries>): void {
  const handler = deciderCommandHandler(store, inventoryDecider, (data) => inventoryStreamId(data.sku), inventoryView);
  commands.register('inventory.item.receive', handler('inventory.item.receive'));
  commands.register('inventory.item.reserve', handler('inventory.item.reserve'));
  commands.register('inventory.item.release', handler('inventory.item.release'));

  queries.register('inventory.item.get', async ({ sku }) => {
    const { state, version, exists } = await store.aggregateStream(inventoryStreamId(sku), inventoryDecider);
    if (!exists) throw new InventoryItemNotFoundError(sku);
    return { ...inventoryView(state), version };
  });
}
