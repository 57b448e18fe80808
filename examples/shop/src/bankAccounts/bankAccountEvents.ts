import type { DomainEvent } from '@tidemark/core';

/**
 * Event names (`domain.entity.action`, past tense) with their schema version beside them
 * (DESIGN.md §3): the version new events are written as. A breaking change adds a version and
 * an upcaster in shopEventRegistry.ts, so that handlers only ever see the latest one.
 */
export const bankAccountEventTypes = {
  /** v2 added `currency`; v1 events (no currency) are read as 'USD'. */
  opened: { type: 'bank.account.opened', schemaVersion: 2 },
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
export interface AccountOpenedV1 {
  accountId: string;
  owner: string;
  initialDeposit: number;
  customerId?: string;
  email?: string;
}
/** The latest version (v2), the only one handlers see. */
export type AccountOpened = DomainEvent<'bank.account.opened', AccountOpenedV1 & { currency: string }>;
export type FundsDeposited = DomainEvent<'bank.account.funds_deposited', { amount: number }>;
export type FundsWithdrawn = DomainEvent<'bank.account.funds_withdrawn', { amount: number }>;
export type AccountClosed = DomainEvent<'bank.account.closed', Record<string, never>>;

export type BankAccountEvent = AccountOpened | FundsDeposited | FundsWithdrawn | AccountClosed;
