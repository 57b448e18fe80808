import { DeciderSpecification } from '@tidemark/testing';
import { describe, expect, it } from 'vitest';
import type { OrderCommand } from '../src/orders/orderCommands.js';
import { orderDecider } from '../src/orders/orderDecider.js';
import {
  EmptyOrderError,
  InvalidCancelReasonError,
  InvalidOrderLineError,
  ItemNotInOrderError,
  ItemPriceMismatchError,
  OrderAlreadyExistsError,
  OrderNotDraftError,
  OrderNotFoundError,
} from '../src/orders/orderErrors.js';
import type { OrderEvent } from '../src/orders/orderEvents.js';

const orderId = 'ORD-001';
const created: OrderEvent = { type: 'sales.order.created', schemaVersion: 2, data: { orderId, customerId: 'c-1', currency: 'USD' } };
const added = (sku: string, quantity: number, unitPrice: number): OrderEvent => ({
  type: 'sales.order.item_added',
  data: { sku, quantity, unitPrice },
});
const removed = (sku: string): OrderEvent => ({ type: 'sales.order.item_removed', data: { sku } });
const cancelled: OrderEvent = { type: 'sales.order.cancelled', data: { reason: 'changed my mind' } };

const create: OrderCommand = { type: 'sales.order.create', data: { orderId, customerId: 'c-1' } };
const add = (sku: string, quantity: number, unitPrice: number): OrderCommand => ({
  type: 'sales.order.add_item',
  data: { orderId, sku, quantity, unitPrice },
});
const remove = (sku: string): OrderCommand => ({ type: 'sales.order.remove_item', data: { orderId, sku } });
const place: OrderCommand = { type: 'sales.order.place', data: { orderId } };
const cancel: OrderCommand = { type: 'sales.order.cancel', data: { orderId, reason: 'changed my mind' } };

const spec = () => DeciderSpecification.for(orderDecider);
const placed = (): OrderEvent => ({
  type: 'sales.order.placed',
  data: { orderId, customerId: 'c-1', lines: [{ sku: 'apple', quantity: 3, unitPrice: 50 }], total: 150 },
});

describe('order decider', () => {
  it('creates a draft order', () => {
    spec().when(create).thenState({ status: 'draft', orderId, customerId: 'c-1', lines: [] });
    spec().given([created]).when(create).thenThrows(OrderAlreadyExistsError);
  });

  it('adds items, merging more of the same SKU into one line', () => {
    spec()
      .given([created, added('apple', 2, 50)])
      .when(add('apple', 1, 50))
      .thenState((state) => state.lines.length === 1 && state.lines[0]?.quantity === 3);
    spec()
      .given([created, added('apple', 2, 50)])
      .when(add('apple', 1, 60))
      .thenThrows(ItemPriceMismatchError);
  });

  it('rejects impossible lines', () => {
    spec()
      .given([created])
      .when(add('apple', 0, 50))
      .thenThrows(InvalidOrderLineError);
    spec()
      .given([created])
      .when(add('apple', 1.5, 50))
      .thenThrows(InvalidOrderLineError);
    spec()
      .given([created])
      .when(add('apple', 1, -1))
      .thenThrows(InvalidOrderLineError);
  });

  it('removes an item that is in the order, and only such an item', () => {
    spec()
      .given([created, added('apple', 2, 50)])
      .when(remove('apple'))
      .then([removed('apple')]);
    spec().given([created]).when(remove('pear')).thenThrows(ItemNotInOrderError);
  });

  it('places a draft order with its lines and total', () => {
    spec()
      .given([created, added('apple', 2, 50), added('pear', 1, 99), removed('pear'), added('apple', 1, 50)])
      .when(place)
      .then([placed()]);
  });

  it('cannot place an empty order (nor one emptied again)', () => {
    spec().given([created]).when(place).thenThrows(EmptyOrderError);
    spec()
      .given([created, added('apple', 1, 50), removed('apple')])
      .when(place)
      .thenThrows(EmptyOrderError);
  });

  it('cannot place or change an order that is no longer a draft', () => {
    const history = [created, added('apple', 3, 50), placed()];
    const error = spec().given(history).when(place).thenThrows(OrderNotDraftError);
    expect((error as OrderNotDraftError).details).toMatchObject({ status: 'placed' });
    spec()
      .given(history)
      .when(add('pear', 1, 1))
      .thenThrows(OrderNotDraftError);
    spec().given(history).when(remove('apple')).thenThrows(OrderNotDraftError);
    spec()
      .given([created, cancelled])
      .when(place)
      .thenThrows((e) => e instanceof OrderNotDraftError && e.details.status === 'cancelled');
  });

  it('refuses a cancel reason no read model could store (issue 8 item 11)', () => {
    for (const reason of ['no\u0000', '\ud800', 'a\nb', '', 'r'.repeat(501)]) {
      spec().given([created]).when({ type: 'sales.order.cancel', data: { orderId, reason } }).thenThrows(InvalidCancelReasonError);
    }
  });

  it('cancels a draft or placed order; cancelling again changes nothing', () => {
    spec().given([created]).when(cancel).then([cancelled]);
    spec()
      .given([created, added('apple', 3, 50), placed()])
      .when(cancel)
      .thenState((state) => state.status === 'cancelled');
    spec().given([created, cancelled]).when(cancel).thenNothingHappens();
    spec()
      .given([created])
      .when({ type: 'sales.order.cancel', data: { orderId } })
      .then([{ type: 'sales.order.cancelled', data: { reason: 'cancelled by request' } }]);
  });

  it('reports commands to a missing order as not found', () => {
    for (const command of [add('apple', 1, 1), remove('apple'), place, cancel]) spec().when(command).thenThrows(OrderNotFoundError);
  });
});
