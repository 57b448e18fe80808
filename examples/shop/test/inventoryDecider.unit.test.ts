import { DeciderSpecification } from '@tidemark/testing';
import { describe, expect, it } from 'vitest';
import type { InventoryCommand } from '../src/inventory/inventoryCommands.js';
import { availableQuantity, inventoryDecider } from '../src/inventory/inventoryDecider.js';
import {
  InsufficientStockError,
  InvalidQuantityError,
  InventoryItemNotFoundError,
  ReservationConflictError,
} from '../src/inventory/inventoryErrors.js';
import type { InventoryEvent } from '../src/inventory/inventoryEvents.js';

const sku = 'apple';
const received = (quantity: number): InventoryEvent => ({ type: 'inventory.item.stock_received', data: { sku, quantity } });
const reserved = (orderId: string, quantity: number): InventoryEvent => ({
  type: 'inventory.item.stock_reserved',
  data: { orderId, quantity },
});
const released = (orderId: string, quantity: number): InventoryEvent => ({
  type: 'inventory.item.reservation_released',
  data: { orderId, quantity },
});

const receive = (quantity: number): InventoryCommand => ({ type: 'inventory.item.receive', data: { sku, quantity } });
const reserve = (orderId: string, quantity: number): InventoryCommand => ({
  type: 'inventory.item.reserve',
  data: { sku, orderId, quantity },
});
const release = (orderId: string): InventoryCommand => ({ type: 'inventory.item.release', data: { sku, orderId } });

const spec = () => DeciderSpecification.for(inventoryDecider);

describe('inventory decider', () => {
  it('receives stock, creating the item on first receipt', () => {
    const state = spec()
      .given([received(5)])
      .when(receive(3))
      .then([received(3)]);
    expect(state).toMatchObject({ exists: true, onHand: 8 });
    spec().when(receive(0)).thenThrows(InvalidQuantityError);
    spec().when(receive(-2)).thenThrows(InvalidQuantityError);
  });

  it('reserves available stock per order', () => {
    const state = spec()
      .given([received(10), reserved('o-1', 4)])
      .when(reserve('o-2', 6))
      .then([reserved('o-2', 6)]);
    expect(availableQuantity(state)).toBe(0);
    expect(state.onHand).toBe(10);
  });

  it('refuses to reserve more than is available', () => {
    const error = spec()
      .given([received(10), reserved('o-1', 4)])
      .when(reserve('o-2', 7))
      .thenThrows(InsufficientStockError);
    expect((error as InsufficientStockError).details).toEqual({ sku, available: 6, requested: 7 });
    spec()
      .given([received(1)])
      .when(reserve('o-1', 0))
      .thenThrows(InvalidQuantityError);
  });

  it('is idempotent per order: the same reservation twice changes nothing, a different one conflicts', () => {
    spec()
      .given([received(10), reserved('o-1', 4)])
      .when(reserve('o-1', 4))
      .thenNothingHappens();
    spec()
      .given([received(10), reserved('o-1', 4)])
      .when(reserve('o-1', 5))
      .thenThrows(ReservationConflictError);
  });

  it('releases a reservation by order id, once', () => {
    const state = spec()
      .given([received(10), reserved('o-1', 4)])
      .when(release('o-1'))
      .then([released('o-1', 4)]);
    expect(availableQuantity(state)).toBe(10);
    spec()
      .given([received(10), reserved('o-1', 4), released('o-1', 4)])
      .when(release('o-1'))
      .thenNothingHappens();
    spec()
      .given([received(10)])
      .when(release('o-9'))
      .thenNothingHappens();
  });

  it('does not mistake inherited object keys for reservations', () => {
    spec()
      .given([received(10)])
      .when(release('constructor'))
      .thenNothingHappens();
    spec()
      .given([received(10)])
      .when(reserve('toString', 2))
      .then([reserved('toString', 2)]);
  });

  it('can reserve again for an order after releasing it', () => {
    spec()
      .given([received(5), reserved('o-1', 5), released('o-1', 5)])
      .when(reserve('o-1', 2))
      .then([reserved('o-1', 2)]);
  });

  it('reports an item that never received stock as not found', () => {
    spec().when(reserve('o-1', 1)).thenThrows(InventoryItemNotFoundError);
    spec().when(release('o-1')).thenThrows(InventoryItemNotFoundError);
  });
});
