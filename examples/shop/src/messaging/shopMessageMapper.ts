import { createMessageMapper, type MessageMapper } from '@tidemark/core';
import type { AccountOpened } from '../bankAccounts/bankAccountEvents.js';
import type { OrderPlaced } from '../orders/orderEvents.js';

/**
 * The shop's public contract: which private domain events leave the service, under which public
 * names and shapes. Only these two do; the initial deposit and the order lines stay internal
 * (a mail needs the owner's name and the order's total and size, nothing more).
 */
export const shopMessageMapper: MessageMapper = createMessageMapper({
  'bank.account.opened': {
    type: 'shop.account.opened',
    data: (event) => {
      const { accountId, owner } = event.data as AccountOpened['data'];
      return { accountId, owner };
    },
  },
  'sales.order.placed': {
    type: 'shop.order.placed',
    data: (event) => {
      const { orderId, customerId, lines, total } = event.data as OrderPlaced['data'];
      return { orderId, customerId, total, itemCount: lines.reduce((sum, line) => sum + line.quantity, 0) };
    },
  },
});

/** The public message types, for consumers and the relay's transport. */
export const shopMessageTypes = ['shop.account.opened', 'shop.order.placed'] as const;
