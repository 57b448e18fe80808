import { DeciderSpecification } from '@tidemark/testing';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { BankAccountCommand } from '../src/bankAccounts/bankAccountCommands.js';
import { type BankAccountState, bankAccountDecider } from '../src/bankAccounts/bankAccountDecider.js';
import {
  AccountAlreadyOpenError,
  AccountClosedError,
  BankAccountNotFoundError,
  InsufficientFundsError,
  InvalidAmountError,
  InvalidOwnerError,
  NonZeroBalanceError,
} from '../src/bankAccounts/bankAccountErrors.js';
import type { BankAccountEvent } from '../src/bankAccounts/bankAccountEvents.js';

const accountId = '12345';
const opened = (initialDeposit: number): BankAccountEvent => ({
  type: 'bank.account.opened',
  schemaVersion: 2,
  data: { accountId, owner: 'alice', initialDeposit, currency: 'USD' },
});
const deposited = (amount: number): BankAccountEvent => ({ type: 'bank.account.funds_deposited', data: { amount } });
const withdrawn = (amount: number): BankAccountEvent => ({ type: 'bank.account.funds_withdrawn', data: { amount } });
const closed: BankAccountEvent = { type: 'bank.account.closed', data: {} };

const open = (initialDeposit: number): BankAccountCommand => ({
  type: 'bank.account.open',
  data: { accountId, owner: 'alice', initialDeposit },
});
const deposit = (amount: number): BankAccountCommand => ({ type: 'bank.account.deposit', data: { accountId, amount } });
const withdraw = (amount: number): BankAccountCommand => ({ type: 'bank.account.withdraw', data: { accountId, amount } });
const close: BankAccountCommand = { type: 'bank.account.close', data: { accountId } };

const spec = () => DeciderSpecification.for(bankAccountDecider);

describe('bank account decider', () => {
  it('the founding example: 1,000 + 500 − 200 = 1,300', () => {
    const state = spec()
      .given([opened(100_000), deposited(50_000)])
      .when(withdraw(20_000))
      .then([withdrawn(20_000)]);
    expect(state).toEqual({ status: 'open', accountId, owner: 'alice', balance: 130_000 });
  });

  it('opens an account with its initial deposit (zero allowed)', () => {
    spec()
      .when(open(100_000))
      .thenState((state) => state.status === 'open' && state.balance === 100_000);
    spec()
      .when(open(0))
      .then([opened(0)]);
  });

  it('refuses an owner no read model could store, whoever sends the command (issue 8 item 11)', () => {
    for (const owner of ['a\u0000b', 'a\ud800', '\udc00b', 'a\u001bb', '', ' padded', 'o'.repeat(201)]) {
      spec()
        .when({ type: 'bank.account.open', data: { accountId, owner, initialDeposit: 1 } })
        .thenThrows(InvalidOwnerError);
    }
    spec()
      .when({ type: 'bank.account.open', data: { accountId, owner: 'Zoë 李 🦊', initialDeposit: 1 } })
      .thenState((state) => state.owner === 'Zoë 李 🦊');
  });

  it('cannot open an account twice', () => {
    spec()
      .given([opened(1)])
      .when(open(5))
      .thenThrows(AccountAlreadyOpenError);
  });

  it('rejects negative, fractional and non-numeric amounts', () => {
    spec().when(open(-1)).thenThrows(InvalidAmountError);
    spec()
      .given([opened(100)])
      .when(deposit(0))
      .thenThrows(InvalidAmountError);
    spec()
      .given([opened(100)])
      .when(deposit(1.5))
      .thenThrows(InvalidAmountError);
    spec()
      .given([opened(100)])
      .when(withdraw(-5))
      .thenThrows(InvalidAmountError);
    spec()
      .given([opened(100)])
      .when(deposit(Number.NaN))
      .thenThrows(InvalidAmountError);
  });

  it('deposits into an open account', () => {
    spec()
      .given([opened(100)])
      .when(deposit(50))
      .then([deposited(50)]);
  });

  it('withdraws the whole balance but not a cent more', () => {
    spec()
      .given([opened(100), deposited(50)])
      .when(withdraw(150))
      .thenState((state) => state.balance === 0);
    const error = spec()
      .given([opened(100), deposited(50)])
      .when(withdraw(151))
      .thenThrows(InsufficientFundsError);
    expect((error as InsufficientFundsError).details).toEqual({ accountId, balance: 150, requested: 151 });
  });

  it('reports a missing account as not found', () => {
    spec().when(deposit(10)).thenThrows(BankAccountNotFoundError);
    spec().when(withdraw(10)).thenThrows(BankAccountNotFoundError);
    spec().when(close).thenThrows(BankAccountNotFoundError);
  });

  it('closes an empty account once; a closed account takes no money', () => {
    spec()
      .given([opened(100), withdrawn(100)])
      .when(close)
      .then([closed]);
    spec()
      .given([opened(100)])
      .when(close)
      .thenThrows(NonZeroBalanceError);
    spec()
      .given([opened(0), closed])
      .when(close)
      .thenNothingHappens();
    spec()
      .given([opened(0), closed])
      .when(deposit(1))
      .thenThrows(AccountClosedError);
    spec()
      .given([opened(0), closed])
      .when(withdraw(1))
      .thenThrows(AccountClosedError);
  });

  it('property: over any deposits and withdrawals the balance never goes negative and equals the fold', () => {
    const operation = fc.oneof(
      fc.record({ kind: fc.constant('deposit' as const), amount: fc.integer({ min: -10, max: 100_000 }) }),
      fc.record({ kind: fc.constant('withdraw' as const), amount: fc.integer({ min: -10, max: 100_000 }) }),
    );
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 100_000 }), fc.array(operation, { maxLength: 60 }), (initial, operations) => {
        const history: BankAccountEvent[] = [];
        let state: BankAccountState = bankAccountDecider.initialState();
        // An independent model: the sum of accepted movements.
        let expectedBalance = 0;
        const apply = (command: BankAccountCommand) => {
          let events: BankAccountEvent[];
          try {
            events = bankAccountDecider.decide(command, state);
          } catch (error) {
            if (error instanceof InsufficientFundsError)
              expect(command.type === 'bank.account.withdraw' && command.data.amount > state.balance).toBe(true);
            else expect(error).toBeInstanceOf(InvalidAmountError);
            return;
          }
          for (const event of events) {
            history.push(event);
            state = bankAccountDecider.evolve(state, event);
            if (event.type === 'bank.account.opened') expectedBalance += event.data.initialDeposit;
            if (event.type === 'bank.account.funds_deposited') expectedBalance += event.data.amount;
            if (event.type === 'bank.account.funds_withdrawn') expectedBalance -= event.data.amount;
          }
        };
        apply(open(initial));
        for (const op of operations) {
          apply(op.kind === 'deposit' ? deposit(op.amount) : withdraw(op.amount));
          expect(state.balance).toBeGreaterThanOrEqual(0);
        }
        const folded = history.reduce(bankAccountDecider.evolve, bankAccountDecider.initialState());
        expect(folded).toEqual(state);
        expect(state.balance).toBe(expectedBalance);
      }),
      { numRuns: 300 },
    );
  });
});
