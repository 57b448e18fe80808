import { DomainError, NotFoundError } from '@tidemark/core';
import type { OrderStatus } from './orderDecider.js';

export class OrderNotFoundError extends NotFoundError {
  constructor(orderId: string) {
    super(`Order '${orderId}' does not exist`, { orderId });
  }
}

export class OrderAlreadyExistsError extends DomainError {
  constructor(orderId: string) {
    super(`Order '${orderId}' already exists`, { orderId });
  }
}

/** Lines can change, and the order be placed, only while it is a draft. */
export class OrderNotDraftError extends DomainError {
  constructor(orderId: string, status: OrderStatus, action: string) {
    super(`Order '${orderId}' is ${status}; only a draft order can ${action}`, { orderId, status, action });
  }
}

export class EmptyOrderError extends DomainError {
  constructor(orderId: string) {
    super(`Order '${orderId}' has no items and cannot be placed`, { orderId });
  }
}

export class ItemNotInOrderError extends DomainError {
  constructor(orderId: string, sku: string) {
    super(`Order '${orderId}' has no item '${sku}'`, { orderId, sku });
  }
}

/** Adding more of a SKU already in the order must keep its price: one line, one price. */
export class ItemPriceMismatchError extends DomainError {
  constructor(orderId: string, sku: string, unitPrice: number, requested: number) {
    super(`Order '${orderId}' already has '${sku}' at ${unitPrice} cents, not ${requested}`, { orderId, sku, unitPrice, requested });
  }
}

/** The reason is not echoed back: it is exactly the text that could not be stored. */
export class InvalidCancelReasonError extends DomainError {
  constructor() {
    super('reason must be 1 to 500 characters of well-formed text without control characters', { field: 'reason' });
  }
}

export class InvalidOrderLineError extends DomainError {
  constructor(field: 'quantity' | 'unitPrice', value: unknown) {
    super(field === 'quantity' ? 'quantity must be a whole number greater than zero' : 'unitPrice must be a whole number of cents ≥ 0', {
      field,
      value,
    });
  }
}

/** An order's total (cents) and item count may not pass the amount limit (see amountLimit.ts). */
export class OrderLimitError extends DomainError {
  constructor(orderId: string, field: 'total' | 'itemCount', limit: number) {
    super(`Order '${orderId}' would pass the limit of ${limit} for its ${field === 'total' ? 'total (cents)' : 'item count'}`, {
      orderId,
      field,
      limit,
    });
  }
}
