import type { DomainEvent } from '@tidemark/core';

/**
 * Event names (`domain.entity.action`, past tense) with their schema version beside them
 * (DESIGN.md §3). Every schema here is at version 1; a breaking change adds a v2 and an upcaster.
 */
export const bankAccountEventTypes = {
  opened: { type: 'bank.account.opened', schemaVersion: 1 },
  fundsDeposited: { type: 'bank.account.funds_deposited', schemaVersion: 1 },
  fundsWithdrawn: { type: 'bank.account.funds_withdrawn', schemaVersion: 1 },
  closed: { type: 'bank.account.closed', schemaVersion: 1 },
} as const;

/** Amounts are integer cents: money is never a float. */
/**
 * The owner's name and e-mail are personal data of the customer (`customerId`, the data
 * subject): encrypted at rest, erased by forgetting the customer (bankAccountPersonalData.ts).
 * Without a customerId the account is its own data subject.
 */
export type AccountOpened = DomainEvent<
  'bank.account.opened',
  { accountId: string; owner: string; initialDeposit: number; customerId?: string; email?: string }
>;
export type FundsDeposited = DomainEvent<'bank.account.funds_deposited', { amount: number }>;
export type FundsWithdrawn = DomainEvent<'bank.account.funds_withdrawn', { amount: number }>;
export type AccountClosed = DomainEvent<'bank.account.closed', Record<string, never>>;

export type BankAccountEvent = AccountOpened | FundsDeposited | FundsWithdrawn | AccountClosed;
