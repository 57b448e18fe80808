import { DomainError, NotFoundError } from '@tidemark/core';

// Business rules say no with a DomainError subclass per rule (HTTP 422); a missing account is
// a NotFoundError (404) because there is no account to apply a rule to.

export class BankAccountNotFoundError extends NotFoundError {
  constructor(accountId: string) {
    super(`Bank account '${accountId}' does not exist`, { accountId });
  }
}

export class AccountAlreadyOpenError extends DomainError {
  constructor(accountId: string) {
    super(`Bank account '${accountId}' is already open`, { accountId });
  }
}

export class AccountClosedError extends DomainError {
  constructor(accountId: string) {
    super(`Bank account '${accountId}' is closed`, { accountId });
  }
}

export class InsufficientFundsError extends DomainError {
  constructor(accountId: string, balance: number, requested: number) {
    super(`Bank account '${accountId}' has ${balance} cents; cannot withdraw ${requested}`, { accountId, balance, requested });
  }
}

/** The owner is not echoed back: it is exactly the text that could not be stored. */
export class InvalidOwnerError extends DomainError {
  constructor() {
    super('owner must be 1 to 200 characters of well-formed text without control characters', { field: 'owner' });
  }
}

export class InvalidCustomerIdError extends DomainError {
  constructor() {
    super('customerId must be 1 to 64 characters of well-formed text without control characters', { field: 'customerId' });
  }
}

export class InvalidEmailError extends DomainError {
  constructor() {
    super('email must be an e-mail address of at most 254 characters', { field: 'email' });
  }
}

export class InvalidAmountError extends DomainError {
  constructor(field: string, amount: unknown) {
    super(`${field} must be a whole number of cents greater than zero`, { field, amount });
  }
}

export class NonZeroBalanceError extends DomainError {
  constructor(accountId: string, balance: number) {
    super(`Bank account '${accountId}' still holds ${balance} cents; withdraw them before closing`, { accountId, balance });
  }
}

/** A balance may not pass the amount limit (see amountLimit.ts): past 2^53 cents it would stop being exact. */
export class BalanceLimitError extends DomainError {
  constructor(accountId: string, balance: number, amount: number, limit: number) {
    super(`Bank account '${accountId}' holds ${balance} cents; ${amount} more would pass the limit of ${limit}`, {
      accountId,
      balance,
      amount,
      limit,
    });
  }
}
