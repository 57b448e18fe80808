import { createMessageMapper, type ForgottenSubject, type MessageMapper, subjectForgottenEventType } from '@tidemark/core';
import type { AccountOpened } from '../bankAccounts/bankAccountEvents.js';
import type { OrderPlaced } from '../orders/orderEvents.js';

/**
 * The shop's public contract: which private domain events leave the service, under which public
 * names and shapes. Only these three do; the initial deposit and the order lines stay internal
 * (a mail needs the owner's name and the order's total and size, nothing more). A forgotten
 * customer is announced too, so that every consumer erases its copies of the owner's name.
 */
export const shopMessageMapper: MessageMapper = createMessageMapper({
  'bank.account.opened': {
    type: 'shop.account.opened',
    data: (event) => {
      const { accountId, owner, customerId } = event.data as AccountOpened['data'];
      return { accountId, owner, customerId: customerId ?? accountId };
    },
  },
  [subjectForgottenEventType]: {
    type: 'shop.customer.forgotten',
    data: (event) => {
      const { subjectId, streamIds } = event.data as ForgottenSubject;
      const accountIds = streamIds.filter((id) => id.startsWith('account-')).map((id) => id.slice('account-'.length));
      return { customerId: subjectId, accountIds };
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
export const shopMessageTypes = ['shop.account.opened', 'shop.order.placed', 'shop.customer.forgotten'] as const;
