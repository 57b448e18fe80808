import { DomainError, NotFoundError } from '@tidemark/core';

export class InventoryItemNotFoundError extends NotFoundError {
  constructor(sku: string) {
    super(`No stock of '${sku}' has ever been received`, { sku });
  }
}

export class InsufficientStockError extends DomainError {
  constructor(sku: string, available: number, requested: number) {
    super(`Only ${available} of '${sku}' available; cannot reserve ${requested}`, { sku, available, requested });
  }
}

/**
 * Reserving again for the same order is idempotent only when it asks for the same quantity;
 * a different quantity is a different request that the caller must resolve (release first).
 */
export class ReservationConflictError extends DomainError {
  constructor(sku: string, orderId: string, reserved: number, requested: number) {
    super(`Order '${orderId}' already holds ${reserved} of '${sku}'; release it before reserving ${requested}`, {
      sku,
      orderId,
      reserved,
      requested,
    });
  }
}

export class InvalidQuantityError extends DomainError {
  constructor(quantity: unknown) {
    super('quantity must be a whole number greater than zero', { field: 'quantity', quantity });
  }
}

/** Stock on hand may not pass the amount limit (see amountLimit.ts). */
export class StockLimitError extends DomainError {
  constructor(sku: string, onHand: number, quantity: number, limit: number) {
    super(`'${sku}' has ${onHand} on hand; receiving ${quantity} more would pass the limit of ${limit}`, { sku, onHand, quantity, limit });
  }
}
