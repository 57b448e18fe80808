import type { Decider } from '@tidemark/core';
import { amountLimit, fitsAmountLimit } from '../shared/amountLimit.js';
import { isCleanText } from '../shared/cleanText.js';
import { shopCurrency } from '../shared/shopCurrency.js';
import type { BankAccountCommand } from './bankAccountCommands.js';
import {
  AccountAlreadyOpenError,
  AccountClosedError,
  BalanceLimitError,
  BankAccountNotFoundError,
  InsufficientFundsError,
  InvalidAmountError,
  InvalidCustomerIdError,
  InvalidEmailError,
  InvalidOwnerError,
  NonZeroBalanceError,
} from './bankAccountErrors.js';
import { type BankAccountEvent, bankAccountEventTypes } from './bankAccountEvents.js';

export interface BankAccountState {
  status: 'none' | 'open' | 'closed';
  accountId: string;
  /** The customer the owner's name and e-mail belong to, when the account was opened for one. */
  customerId?: string;
  owner: string;
  email?: string;
  /** Integer cents; never negative, never past amountLimit. */
  balance: number;
}

/** A plausible address (one '@', something either side, no spaces); delivery is the real check. */
const isEmail = (email: unknown): boolean =>
  typeof email === 'string' && email.length <= 254 && isCleanText(email, 254) && /^[^@\s]+@[^@\s]+\.[^@\s]+$/.test(email);

const isCents = (amount: unknown, allowZero: boolean): amount is number =>
  typeof amount === 'number' && Number.isSafeInteger(amount) && (allowZero ? amount >= 0 : amount > 0);

function assertOpen(state: BankAccountState, accountId: string): void {
  if (state.status === 'none') throw new BankAccountNotFoundError(accountId);
  if (state.status === 'closed') throw new AccountClosedError(accountId);
}

/**
 * The founding example of the seed documents: open with 1,000, deposit 500, withdraw 200 →
 * 1,300, each step an event. The rules live here and nowhere else; the HTTP layer validates
 * shapes, but a decider must hold on its own because other callers (sagas, the CLI) reach it too.
 */
export const bankAccountDecider: Decider<BankAccountCommand, BankAccountEvent, BankAccountState> = {
  initialState: () => ({ status: 'none', accountId: '', owner: '', balance: 0 }),

  decide(command, state) {
    switch (command.type) {
      case 'bank.account.open': {
        const { accountId, owner, initialDeposit, customerId, email } = command.data;
        if (state.status !== 'none') throw new AccountAlreadyOpenError(accountId);
        if (!isCleanText(owner, 200)) throw new InvalidOwnerError();
        if (customerId !== undefined && !isCleanText(customerId, 64)) throw new InvalidCustomerIdError();
        if (email !== undefined && !isEmail(email)) throw new InvalidEmailError();
        if (!isCents(initialDeposit, true)) throw new InvalidAmountError('initialDeposit', initialDeposit);
        if (!fitsAmountLimit(0, initialDeposit)) throw new BalanceLimitError(accountId, 0, initialDeposit, amountLimit);
        return [
          {
            ...bankAccountEventTypes.opened,
            data: {
              accountId,
              ...(customerId !== undefined && { customerId }),
              owner,
              ...(email !== undefined && { email }),
              initialDeposit,
              currency: shopCurrency,
            },
          },
        ];
      }
      case 'bank.account.deposit': {
        assertOpen(state, command.data.accountId);
        if (!isCents(command.data.amount, false)) throw new InvalidAmountError('amount', command.data.amount);
        if (!fitsAmountLimit(state.balance, command.data.amount))
          throw new BalanceLimitError(command.data.accountId, state.balance, command.data.amount, amountLimit);
        return [{ type: 'bank.account.funds_deposited', data: { amount: command.data.amount } }];
      }
      case 'bank.account.withdraw': {
        const { accountId, amount } = command.data;
        assertOpen(state, accountId);
        if (!isCents(amount, false)) throw new InvalidAmountError('amount', amount);
        if (amount > state.balance) throw new InsufficientFundsError(accountId, state.balance, amount);
        return [{ type: 'bank.account.funds_withdrawn', data: { amount } }];
      }
      case 'bank.account.close': {
        const { accountId } = command.data;
        if (state.status === 'none') throw new BankAccountNotFoundError(accountId);
        // Closing twice is a repeat of a fact already recorded, not a new one.
        if (state.status === 'closed') return [];
        if (state.balance !== 0) throw new NonZeroBalanceError(accountId, state.balance);
        return [{ type: 'bank.account.closed', data: {} }];
      }
    }
  },

  evolve(state, event) {
    switch (event.type) {
      case 'bank.account.opened':
        return {
          status: 'open',
          accountId: event.data.accountId,
          ...(event.data.customerId !== undefined && { customerId: event.data.customerId }),
          owner: event.data.owner,
          ...(event.data.email !== undefined && { email: event.data.email }),
          balance: event.data.initialDeposit,
        };
      case 'bank.account.funds_deposited':
        return { ...state, balance: state.balance + event.data.amount };
      case 'bank.account.funds_withdrawn':
        return { ...state, balance: state.balance - event.data.amount };
      case 'bank.account.closed':
        return { ...state, status: 'closed' };
      default:
        // Unknown (newer) event types leave the state alone rather than crash old readers.
        return state;
    }
  },
};
