import { createEventRegistry, type EventRegistry } from '@tidemark/core';
import { z } from 'zod';
import type { AccountOpenedV1 } from './bankAccounts/bankAccountEvents.js';
import type { OrderCreatedV1 } from './orders/orderEvents.js';
import { shopCurrency } from './shared/shopCurrency.js';

const currency = z.string().regex(/^[A-Z]{3}$/, 'must be an ISO 4217 code');
const cents = z.number().int().nonnegative();

/**
 * The shop's event versions (stages: [registry.stage] on its store). v1 of both types was
 * written before schemas existed: it is not validated (null), and read as v2 through its
 * upcaster, the founding documents' example. v2 is checked on every append.
 */
export function createShopEventRegistry(): EventRegistry {
  return createEventRegistry()
    .event('bank.account.opened', {
      versions: {
        1: null,
        2: z.strictObject({
          accountId: z.string(),
          customerId: z.string().optional(),
          owner: z.string(),
          email: z.string().optional(),
          initialDeposit: cents,
          currency,
        }),
      },
      upcasters: { 1: (data: AccountOpenedV1) => ({ ...data, currency: shopCurrency }) },
    })
    .event('sales.order.created', {
      versions: { 1: null, 2: z.strictObject({ orderId: z.string(), customerId: z.string(), currency }) },
      upcasters: { 1: (data: OrderCreatedV1) => ({ ...data, currency: shopCurrency }) },
    });
}
