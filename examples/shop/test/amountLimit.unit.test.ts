import { TidemarkError } from '@tidemark/core';
import { DeciderSpecification } from '@tidemark/testing';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { BankAccountCommand } from '../src/bankAccounts/bankAccountCommands.js';
import { type BankAccountState, bankAccountDecider } from '../src/bankAccounts/bankAccountDecider.js';
import { BalanceLimitError } from '../src/bankAccounts/bankAccountErrors.js';
import type { BankAccountEvent } from '../src/bankAccounts/bankAccountEvents.js';
import type { InventoryCommand } from '../src/inventory/inventoryCommands.js';
import { type InventoryState, inventoryDecider } from '../src/inventory/inventoryDecider.js';
import { StockLimitError } from '../src/inventory/inventoryErrors.js';
import type { OrderCommand } from '../src/orders/orderCommands.js';
import { type OrderState, orderDecider, orderItemCount, orderTotal } from '../src/orders/orderDecider.js';
import { OrderLimitError } from '../src/orders/orderErrors.js';
import type { OrderEvent } from '../src/orders/orderEvents.js';
import { amountLimit } from '../src/shared/amountLimit.js';

const limit = BigInt(amountLimit);
/** Amounts as a client may send them: small ones, ones near the limit and ones up to 2^53. */
const amount = fc.oneof(
  fc.integer({ min: 1, max: 1_000_000 }),
  fc.integer({ min: amountLimit - 1_000, max: amountLimit + 1_000 }),
  fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER }),
);
const isSafeWithinLimit = (value: number) => Number.isSafeInteger(value) && value >= 0 && BigInt(value) <= limit;

/** Runs `command` like the command handler would: decide, then fold the events; a typed refusal writes nothing. */
function step<C, E, S>(decider: { decide(c: C, s: S): E[]; evolve(s: S, e: E): S }, state: S, command: C): { state: S; events: E[] } {
  try {
    const events = decider.decide(command, state);
    return { state: events.reduce(decider.evolve, state), events };
  } catch (error) {
    expect(error).toBeInstanceOf(TidemarkError);
    return { state, events: [] };
  }
}

describe('the amount limit (issue 8 item 12): no accepted command makes a value unsafe', () => {
  const accountId = 'a1';
  const deposit = (n: number): BankAccountCommand => ({ type: 'bank.account.deposit', data: { accountId, amount: n } });

  it('a deposit that would take a balance past the limit is a 422 rule, not a silent loss', () => {
    const opened: BankAccountEvent = {
      type: 'bank.account.opened',
      schemaVersion: 2,
      data: { accountId, owner: 'o', initialDeposit: amountLimit - 5, currency: 'USD' },
    };
    DeciderSpecification.for(bankAccountDecider)
      .given([opened])
      .when(deposit(5))
      .thenState((state) => state.balance === amountLimit);
    const error = DeciderSpecification.for(bankAccountDecider).given([opened]).when(deposit(6)).thenThrows(BalanceLimitError);
    expect((error as BalanceLimitError).details).toEqual({ accountId, balance: amountLimit - 5, amount: 6, limit: amountLimit });
    expect((error as BalanceLimitError).code).toBe('domain_rule');
    DeciderSpecification.for(bankAccountDecider)
      .when({ type: 'bank.account.open', data: { accountId, owner: 'o', initialDeposit: amountLimit + 1 } })
      .thenThrows(BalanceLimitError);
  });

  it('property: bank accounts — every balance stays a safe integer within the limit and equals the exact sum', () => {
    const operation = fc.oneof(
      amount.map((n) => ({ type: 'bank.account.deposit', data: { accountId, amount: n } }) as BankAccountCommand),
      amount.map((n) => ({ type: 'bank.account.withdraw', data: { accountId, amount: n } }) as BankAccountCommand),
    );
    fc.assert(
      fc.property(fc.oneof(fc.constant(0), amount), fc.array(operation, { maxLength: 40 }), (initialDeposit, commands) => {
        let state: BankAccountState = bankAccountDecider.initialState();
        let exact = 0n;
        for (const command of [
          { type: 'bank.account.open', data: { accountId, owner: 'o', initialDeposit } } as BankAccountCommand,
          ...commands,
        ]) {
          const before = state.balance;
          const result = step(bankAccountDecider, state, command);
          state = result.state;
          for (const event of result.events) {
            if (event.type === 'bank.account.opened') exact += BigInt(event.data.initialDeposit);
            if (event.type === 'bank.account.funds_deposited') exact += BigInt(event.data.amount);
            if (event.type === 'bank.account.funds_withdrawn') exact -= BigInt(event.data.amount);
          }
          // Refused only for a reason: a deposit is refused for the limit exactly when it would pass it.
          if (command.type === 'bank.account.deposit' && state.status === 'open')
            expect(result.events.length === 0).toBe(BigInt(before) + BigInt(command.data.amount) > limit);
          expect(isSafeWithinLimit(state.balance)).toBe(true);
          expect(BigInt(state.balance)).toBe(exact);
        }
      }),
      { numRuns: 500 },
    );
  });

  it('property: orders — every total and item count stays a safe integer within the limit, and placing records the exact total', () => {
    const orderId = 'o1';
    const skus = ['a', 'b', 'c'];
    const add = fc
      .tuple(fc.constantFrom(...skus), amount, fc.oneof(fc.constant(0), amount))
      .map(([sku, quantity, unitPrice]) => ({ type: 'sales.order.add_item', data: { orderId, sku, quantity, unitPrice } }) as OrderCommand);
    const remove = fc.constantFrom(...skus).map((sku) => ({ type: 'sales.order.remove_item', data: { orderId, sku } }) as OrderCommand);
    fc.assert(
      fc.property(fc.array(fc.oneof({ weight: 4, arbitrary: add }, { weight: 1, arbitrary: remove }), { maxLength: 30 }), (commands) => {
        let state: OrderState = orderDecider.initialState();
        const create: OrderCommand = { type: 'sales.order.create', data: { orderId, customerId: 'c' } };
        for (const command of [create, ...commands]) {
          const before = state;
          state = step(orderDecider, state, command).state;
          const exactTotal = state.lines.reduce((sum, line) => sum + BigInt(line.quantity) * BigInt(line.unitPrice), 0n);
          expect(BigInt(orderTotal(state.lines))).toBe(exactTotal);
          expect(exactTotal <= limit).toBe(true);
          expect(isSafeWithinLimit(orderItemCount(state.lines))).toBe(true);
          if (command.type === 'sales.order.add_item' && state === before) {
            // Refused (same price per line aside) only when it would pass a limit.
            const existing = before.lines.find((line) => line.sku === command.data.sku);
            if (!existing || existing.unitPrice === command.data.unitPrice) {
              const total = BigInt(orderTotal(before.lines)) + BigInt(command.data.quantity) * BigInt(command.data.unitPrice);
              const count = BigInt(orderItemCount(before.lines)) + BigInt(command.data.quantity);
              expect(total > limit || count > limit).toBe(true);
            }
          }
        }
        const placed = step(orderDecider, state, { type: 'sales.order.place', data: { orderId } } as OrderCommand).events as OrderEvent[];
        for (const event of placed)
          if (event.type === 'sales.order.placed') expect(BigInt(event.data.total)).toBe(BigInt(orderTotal(state.lines)));
      }),
      { numRuns: 500 },
    );
    DeciderSpecification.for(orderDecider)
      .given([
        { type: 'sales.order.created', schemaVersion: 2, data: { orderId, customerId: 'c', currency: 'USD' } },
        { type: 'sales.order.item_added', data: { sku: 'a', quantity: 1, unitPrice: amountLimit } },
      ])
      .when({ type: 'sales.order.add_item', data: { orderId, sku: 'b', quantity: 1, unitPrice: 1 } })
      .thenThrows(OrderLimitError);
  });

  it('property: inventory — stock on hand stays a safe integer within the limit', () => {
    const sku = 's1';
    const command = fc.oneof(
      amount.map((quantity) => ({ type: 'inventory.item.receive', data: { sku, quantity } }) as InventoryCommand),
      fc
        .tuple(fc.constantFrom('o1', 'o2'), amount)
        .map(([orderId, quantity]) => ({ type: 'inventory.item.reserve', data: { sku, orderId, quantity } }) as InventoryCommand),
    );
    fc.assert(
      fc.property(fc.array(command, { maxLength: 30 }), (commands) => {
        let state: InventoryState = inventoryDecider.initialState();
        let exact = 0n;
        for (const c of commands) {
          const before = state.onHand;
          const result = step(inventoryDecider, state, c);
          state = result.state;
          for (const event of result.events) if (event.type === 'inventory.item.stock_received') exact += BigInt(event.data.quantity);
          if (c.type === 'inventory.item.receive')
            expect(result.events.length === 0).toBe(BigInt(before) + BigInt(c.data.quantity) > limit);
          expect(isSafeWithinLimit(state.onHand)).toBe(true);
          expect(BigInt(state.onHand)).toBe(exact);
        }
      }),
      { numRuns: 500 },
    );
    DeciderSpecification.for(inventoryDecider)
      .given([{ type: 'inventory.item.stock_received', data: { sku, quantity: amountLimit } }])
      .when({ type: 'inventory.item.receive', data: { sku, quantity: 1 } })
      .thenThrows(StockLimitError);
  });
});
