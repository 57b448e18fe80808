import type { DomainEvent } from '@tidemark/core';

/** Event names (`domain.entity.action`, past tense) with their schema version beside them (DESIGN.md §3). */
export const orderEventTypes = {
  /** v2 added `currency`; v1 events (no currency) are read as 'USD'. */
  created: { type: 'sales.order.created', schemaVersion: 2 },
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

export interface OrderCreatedV1 {
  orderId: string;
  customerId: string;
}
/** The latest version (v2), the only one handlers see. */
export type OrderCreated = DomainEvent<'sales.order.created', OrderCreatedV1 & { currency: string }>;
export type OrderItemAdded = DomainEvent<'sales.order.item_added', OrderLine>;
export type OrderItemRemoved = DomainEvent<'sales.order.item_removed', { sku: string }>;
/**
 * Carries the lines and total as placed, so that downstream contexts (inventory reservation,
 * payment) can act on this one event without reading the order stream — see seed 000.
 */
export type OrderPlaced = DomainEvent<'sales.order.placed', { orderId: string; customerId: string; lines: OrderLine[]; total: number }>;
export type OrderCancelled = DomainEvent<'sales.order.cancelled', { reason: string }>;

export type OrderEvent = OrderCreated | OrderItemAdded | OrderItemRemoved | OrderPlaced | OrderCancelled;
