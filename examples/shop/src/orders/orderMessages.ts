import type { CommandBus, QueryBus, StreamOperations } from '@tidemark/core';
import { type CommandEnvelope, deciderCommandHandler, type WriteResult } from '../shared/deciderCommandHandler.js';
import type { ShopCommands, ShopQueries } from '../shopMessages.js';
import {
  type AddOrderItem,
  type CancelOrder,
  type CreateOrder,
  orderStreamId,
  type PlaceOrder,
  type RemoveOrderItem,
} from './orderCommands.js';
import { type OrderState, orderDecider, orderTotal } from './orderDecider.js';
import { OrderNotFoundError } from './orderErrors.js';
import type { OrderLine } from './orderEvents.js';

export interface OrderView {
  orderId: string;
  customerId: string;
  status: 'draft' | 'placed' | 'cancelled';
  lines: OrderLine[];
  /** Integer cents. */
  total: number;
}

export const orderView = (state: OrderState): OrderView => ({
  orderId: state.orderId,
  customerId: state.customerId,
  status: state.status === 'none' ? 'draft' : state.status,
  lines: state.lines,
  total: orderTotal(state.lines),
});

export type OrderCommands = {
  'sales.order.create': { payload: CommandEnvelope<CreateOrder['data']>; result: WriteResult<OrderView> };
  'sales.order.add_item': { payload: CommandEnvelope<AddOrderItem['data']>; result: WriteResult<OrderView> };
  'sales.order.remove_item': { payload: CommandEnvelope<RemoveOrderItem['data']>; result: WriteResult<OrderView> };
  'sales.order.place': { payload: CommandEnvelope<PlaceOrder['data']>; result: WriteResult<OrderView> };
  'sales.order.cancel': { payload: CommandEnvelope<CancelOrder['data']>; result: WriteResult<OrderView> };
};

export type OrderQueries = {
  'sales.order.get': { payload: { orderId: string }; result: OrderView & { version: number } };
};

export function registerOrders(store: StreamOperations, commands: CommandBus<ShopCommands>, queries: QueryBus<ShopQueries>): void {
  const handler = deciderCommandHandler(store, orderDecider, (data) => orderStreamId(data.orderId), orderView);
  commands.register('sales.order.create', handler('sales.order.create'));
  commands.register('sales.order.add_item', handler('sales.order.add_item'));
  commands.register('sales.order.remove_item', handler('sales.order.remove_item'));
  commands.register('sales.order.place', handler('sales.order.place'));
  commands.register('sales.order.cancel', handler('sales.order.cancel'));

  queries.register('sales.order.get', async ({ orderId }) => {
    const { state, version, exists } = await store.aggregateStream(orderStreamId(orderId), orderDecider);
    if (!exists) throw new OrderNotFoundError(orderId);
    return { ...orderView(state), version };
  });
}
