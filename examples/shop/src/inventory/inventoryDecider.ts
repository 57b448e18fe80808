import type { Decider } from '@tidemark/core';
import { amountLimit, fitsAmountLimit } from '../shared/amountLimit.js';
import type { InventoryCommand } from './inventoryCommands.js';
import {
  InsufficientStockError,
  InvalidQuantityError,
  InventoryItemNotFoundError,
  ReservationConflictError,
  StockLimitError,
} from './inventoryErrors.js';
import type { InventoryEvent } from './inventoryEvents.js';

export interface InventoryState {
  exists: boolean;
  sku: string;
  /** Units received and not shipped: reserved units are still on hand. Never past amountLimit. */
  onHand: number;
  /** Units held per order id; reservations are keyed by order so that retries are idempotent. */
  reservations: Record<string, number>;
}

export const reservedQuantity = (state: InventoryState): number => Object.values(state.reservations).reduce((sum, n) => sum + n, 0);
export const availableQuantity = (state: InventoryState): number => state.onHand - reservedQuantity(state);

/** Own properties only: an order id such as 'constructor' must not find Object.prototype's. */
const heldFor = (state: InventoryState, orderId: string): number | undefined =>
  Object.hasOwn(state.reservations, orderId) ? state.reservations[orderId] : undefined;

const isQuantity = (value: unknown): value is number => typeof value === 'number' && Number.isSafeInteger(value) && value > 0;

/** Receive, reserve and release stock for one SKU; the inventory half of seed 000. */
export const inventoryDecider: Decider<InventoryCommand, InventoryEvent, InventoryState> = {
  initialState: () => ({ exists: false, sku: '', onHand: 0, reservations: {} }),

  decide(command, state) {
    switch (command.type) {
      case 'inventory.item.receive': {
        const { sku, quantity } = command.data;
        if (!isQuantity(quantity)) throw new InvalidQuantityError(quantity);
        if (!fitsAmountLimit(state.onHand, quantity)) throw new StockLimitError(sku, state.onHand, quantity, amountLimit);
        return [{ type: 'inventory.item.stock_received', data: { sku, quantity } }];
      }
      case 'inventory.item.reserve': {
        const { sku, orderId, quantity } = command.data;
        if (!state.exists) throw new InventoryItemNotFoundError(sku);
        if (!isQuantity(quantity)) throw new InvalidQuantityError(quantity);
        const held = heldFor(state, orderId);
        if (held !== undefined) {
          // The same reservation delivered twice (a retried request, a redelivered event) is a no-op.
          if (held === quantity) return [];
          throw new ReservationConflictError(sku, orderId, held, quantity);
        }
        const available = availableQuantity(state);
        if (quantity > available) throw new InsufficientStockError(sku, available, quantity);
        return [{ type: 'inventory.item.stock_reserved', data: { orderId, quantity } }];
      }
      case 'inventory.item.release': {
        const { sku, orderId } = command.data;
        if (!state.exists) throw new InventoryItemNotFoundError(sku);
        const held = heldFor(state, orderId);
        // Releasing what is not held is already true: compensations may run more than once.
        if (held === undefined) return [];
        return [{ type: 'inventory.item.reservation_released', data: { orderId, quantity: held } }];
      }
    }
  },

  evolve(state, event) {
    switch (event.type) {
      case 'inventory.item.stock_received':
        return { ...state, exists: true, sku: event.data.sku, onHand: state.onHand + event.data.quantity };
      case 'inventory.item.stock_reserved':
        return { ...state, reservations: { ...state.reservations, [event.data.orderId]: event.data.quantity } };
      case 'inventory.item.reservation_released': {
        const { [event.data.orderId]: _released, ...reservations } = state.reservations;
        return { ...state, reservations };
      }
      default:
        return state;
    }
  },
};
