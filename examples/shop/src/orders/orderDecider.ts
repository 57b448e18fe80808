import type { Decider } from '@tidemark/core';
import { amountLimit, fitsAmountLimit } from '../shared/amountLimit.js';
import { isCleanText } from '../shared/cleanText.js';
import { shopCurrency } from '../shared/shopCurrency.js';
import type { OrderCommand } from './orderCommands.js';
import {
  EmptyOrderError,
  InvalidCancelReasonError,
  InvalidOrderLineError,
  ItemNotInOrderError,
  ItemPriceMismatchError,
  OrderAlreadyExistsError,
  OrderLimitError,
  OrderNotDraftError,
  OrderNotFoundError,
} from './orderErrors.js';
import { type OrderEvent, type OrderLine, orderEventTypes } from './orderEvents.js';

export type OrderStatus = 'none' | 'draft' | 'placed' | 'cancelled';

export interface OrderState {
  status: OrderStatus;
  orderId: string;
  customerId: string;
  /** One line per SKU, in the order they were first added. */
  lines: OrderLine[];
}

/** Exact: add_item keeps every total (and so every line's) within amountLimit. */
export const orderTotal = (lines: readonly OrderLine[]): number => lines.reduce((sum, line) => sum + line.quantity * line.unitPrice, 0);
export const orderItemCount = (lines: readonly OrderLine[]): number => lines.reduce((sum, line) => sum + line.quantity, 0);

function assertDraft(state: OrderState, orderId: string, action: string): void {
  if (state.status === 'none') throw new OrderNotFoundError(orderId);
  if (state.status !== 'draft') throw new OrderNotDraftError(orderId, state.status, action);
}

/** Draft → items added/removed → placed; a draft or placed order can be cancelled (seeds 000 and 003). */
export const orderDecider: Decider<OrderCommand, OrderEvent, OrderState> = {
  initialState: () => ({ status: 'none', orderId: '', customerId: '', lines: [] }),

  decide(command, state) {
    switch (command.type) {
      case 'sales.order.create': {
        const { orderId, customerId } = command.data;
        if (state.status !== 'none') throw new OrderAlreadyExistsError(orderId);
        return [{ ...orderEventTypes.created, data: { orderId, customerId, currency: shopCurrency } }];
      }
      case 'sales.order.add_item': {
        const { orderId, sku, quantity, unitPrice } = command.data;
        assertDraft(state, orderId, 'change its items');
        if (!Number.isSafeInteger(quantity) || quantity <= 0) throw new InvalidOrderLineError('quantity', quantity);
        if (!Number.isSafeInteger(unitPrice) || unitPrice < 0) throw new InvalidOrderLineError('unitPrice', unitPrice);
        const existing = state.lines.find((line) => line.sku === sku);
        if (existing && existing.unitPrice !== unitPrice) throw new ItemPriceMismatchError(orderId, sku, existing.unitPrice, unitPrice);
        if (!fitsAmountLimit(orderItemCount(state.lines), quantity)) throw new OrderLimitError(orderId, 'itemCount', amountLimit);
        // The product as a bigint: quantity × unitPrice of two safe integers can be far past 2^53.
        if (!fitsAmountLimit(orderTotal(state.lines), BigInt(quantity) * BigInt(unitPrice)))
          throw new OrderLimitError(orderId, 'total', amountLimit);
        return [{ type: 'sales.order.item_added', data: { sku, quantity, unitPrice } }];
      }
      case 'sales.order.remove_item': {
        const { orderId, sku } = command.data;
        assertDraft(state, orderId, 'change its items');
        if (!state.lines.some((line) => line.sku === sku)) throw new ItemNotInOrderError(orderId, sku);
        return [{ type: 'sales.order.item_removed', data: { sku } }];
      }
      case 'sales.order.place': {
        const { orderId } = command.data;
        assertDraft(state, orderId, 'be placed');
        if (state.lines.length === 0) throw new EmptyOrderError(orderId);
        return [
          {
            type: 'sales.order.placed',
            data: { orderId, customerId: state.customerId, lines: state.lines, total: orderTotal(state.lines) },
          },
        ];
      }
      case 'sales.order.cancel': {
        const { orderId, reason } = command.data;
        if (state.status === 'none') throw new OrderNotFoundError(orderId);
        // Cancelling a cancelled order again changes nothing: a retried request must not fail.
        if (state.status === 'cancelled') return [];
        if (reason !== undefined && !isCleanText(reason, 500)) throw new InvalidCancelReasonError();
        return [{ type: 'sales.order.cancelled', data: { reason: reason ?? 'cancelled by request' } }];
      }
    }
  },

  evolve(state, event) {
    switch (event.type) {
      case 'sales.order.created':
        return { status: 'draft', orderId: event.data.orderId, customerId: event.data.customerId, lines: [] };
      case 'sales.order.item_added': {
        const { sku, quantity, unitPrice } = event.data;
        const exists = state.lines.some((line) => line.sku === sku);
        const lines = exists
          ? state.lines.map((line) => (line.sku === sku ? { ...line, quantity: line.quantity + quantity } : line))
          : [...state.lines, { sku, quantity, unitPrice }];
        return { ...state, lines };
      }
      case 'sales.order.item_removed':
        return { ...state, lines: state.lines.filter((line) => line.sku !== event.data.sku) };
      case 'sales.order.placed':
        return { ...state, status: 'placed' };
      case 'sales.order.cancelled':
        return { ...state, status: 'cancelled' };
      default:
        return state;
    }
  },
};
