import type { DomainEvent } from '@tidemark/core';

/** Event names (`domain.entity.action`, past tense) with their schema version beside them (DESIGN.md §3). */
export const orderEventTypes = {
  created: { type: 'sales.order.created', schemaVersion: 1 },
  itemAdded: { type: 'sales.order.item_added', schemaVersion: 1 },
  itemRemoved: { type: 'sales.order.item_removed', schemaVersion: 1 },
  placed: { type: 'sales.order.placed', schemaVersion: 1 },
  cancelled: { type: 'sales.order.cancelled', schemaVersion: 1 },
} as const;

export interface OrderLine {
  sku: string;
  quantity: number;
  /** Integer cents. */
  unitPrice: number;
}

export type OrderCreated = DomainEvent<'sales.order.created', { orderId: string; customerId: string }>;
export type OrderItemAdded = DomainEvent<'sales.order.item_added', OrderLine>;
export type OrderItemRemoved = DomainEvent<'sales.order.item_removed', { sku: string }>;
/**
 * Carries the lines and total as placed, so that downstream contexts (inventory reservation,
 * payment) can act on this one event without reading the order stream — see seed 000.
 */
export type OrderPlaced = DomainEvent<'sales.order.placed', { orderId: string; customerId: string; lines: OrderLine[]; total: number }>;
export type OrderCancelled = DomainEvent<'sales.order.cancelled', { reason: string }>;

export type OrderEvent = OrderCreated | OrderItemAdded | OrderItemRemoved | OrderPlaced | OrderCancelled;
