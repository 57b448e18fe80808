import type { DomainEvent } from '@tidemark/core';

/** Event names (`domain.entity.action`, past tense) with their schema version beside them (DESIGN.md §3). */
export const inventoryEventTypes = {
  stockReceived: { type: 'inventory.item.stock_received', schemaVersion: 1 },
  stockReserved: { type: 'inventory.item.stock_reserved', schemaVersion: 1 },
  reservationReleased: { type: 'inventory.item.reservation_released', schemaVersion: 1 },
} as const;

export type StockReceived = DomainEvent<'inventory.item.stock_received', { sku: string; quantity: number }>;
export type StockReserved = DomainEvent<'inventory.item.stock_reserved', { orderId: string; quantity: number }>;
export type ReservationReleased = DomainEvent<'inventory.item.reservation_released', { orderId: string; quantity: number }>;

export type InventoryEvent = StockReceived | StockReserved | ReservationReleased;
