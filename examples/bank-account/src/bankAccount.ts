// The founding example of tidemark, on its public API only: a bank account as a decider, kept in
// a SQLite file, with a balance read model that a projector keeps up to date.
//   npm run example:bank-account        (or: npm start -w examples/bank-account)
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { type Clock, createProjector, type Decider, DomainError, handleCommand, type Projection } from '@tidemark/core';
import { createSqliteCheckpointStore, createSqliteEventStore, type SqliteTransaction } from '@tidemark/sqlite';

// Commands are imperative, events past tense; amounts are whole currency units.
type AccountCommand =
  | { type: 'open'; owner: string; initialDeposit: number }
  | { type: 'deposit'; amount: number }
  | { type: 'withdraw'; amount: number };

type AccountEvent =
  | { type: 'bank.account.opened'; data: { owner: string; initialDeposit: number } }
  | { type: 'bank.account.deposited'; data: { amount: number } }
  | { type: 'bank.account.withdrawn'; data: { amount: number } };

interface Account {
  open: boolean;
  balance: number;
}

export class InsufficientFundsError extends DomainError {}

export const bankAccount: Decider<AccountCommand, AccountEvent, Account> = {
  initialState: () => ({ open: false, balance: 0 }),
  decide(command, account) {
    if (command.type === 'open') {
      if (account.open) throw new DomainError('The account is already open');
      return [{ type: 'bank.account.opened', data: { owner: command.owner, initialDeposit: command.initialDeposit } }];
    }
    if (!account.open) throw new DomainError('The account is not open');
    if (command.type === 'deposit') return [{ type: 'bank.account.deposited', data: { amount: command.amount } }];
    if (command.amount > account.balance) {
      throw new InsufficientFundsError(`Cannot withdraw ${command.amount} from ${account.balance}`, { balance: account.balance });
    }
    return [{ type: 'bank.account.withdrawn', data: { amount: command.amount } }];
  },
  evolve(account, event) {
    switch (event.type) {
      case 'bank.account.opened':
        return { open: true, balance: event.data.initialDeposit };
      case 'bank.account.deposited':
        return { ...account, balance: account.balance + event.data.amount };
      case 'bank.account.withdrawn':
        return { ...account, balance: account.balance - event.data.amount };
    }
  },
};

/** The read side: one row per account, moved in the same transaction as the projector's checkpoint. */
export const accountBalances: Projection<SqliteTransaction> = {
  name: 'account_balances',
  categories: ['account'],
  async setup(tx) {
    await tx.sql.execute('CREATE TABLE IF NOT EXISTS account_balances (account_id TEXT PRIMARY KEY, balance INTEGER NOT NULL)');
  },
  async apply(events, tx) {
    for (const recorded of events) {
      const event = { type: recorded.type, data: recorded.data } as AccountEvent;
      const change =
        event.type === 'bank.account.opened'
          ? event.data.initialDeposit
          : event.type === 'bank.account.deposited'
            ? event.data.amount
            : -event.data.amount;
      await tx.sql.execute(
        `INSERT INTO account_balances (account_id, balance) VALUES ($1, $2)
         ON CONFLICT (account_id) DO UPDATE SET balance = balance + excluded.balance`,
        [recorded.streamId, change],
      );
    }
  },
};

export interface ExampleResult {
  balance: number;
  history: { version: number; type: string; data: unknown; recordedAt: string }[];
  /** The balance as it was at 10:45, after the deposit, before the withdrawal. */
  balanceAsOf1045: number;
  /** The balance as the read model has it, once the projector has passed the last command. */
  projectedBalance: number;
  /** Why the overdraft was refused. */
  refused: string;
}

/** Runs the story on a SQLite file in `dir`: three commands, the history, the past, the read model. */
export async function runExample(dir: string): Promise<ExampleResult> {
  // The store stamps events with its clock (never with new Date()): this one is set by hand, so
  // that the story happens at known times and "as of a time" has something to tell apart.
  let now = new Date('2030-01-01T10:00:00Z');
  const clock: Clock = { now: () => now };
  const store = createSqliteEventStore({ file: join(dir, 'bank.db'), clock });
  const projector = createProjector({ store, projection: accountBalances, checkpoints: createSqliteCheckpointStore() });
  try {
    await projector.start();
    const stream = 'account-12345';
    await handleCommand(store, bankAccount, stream, { type: 'open', owner: 'alice', initialDeposit: 1_000 });
    now = new Date('2030-01-01T10:30:00Z');
    await handleCommand(store, bankAccount, stream, { type: 'deposit', amount: 500 });
    now = new Date('2030-01-01T11:00:00Z');
    const withdrawal = await handleCommand(store, bankAccount, stream, { type: 'withdraw', amount: 200 });

    // A business rule says no: a typed error, and nothing is written.
    const refused = await handleCommand(store, bankAccount, stream, { type: 'withdraw', amount: 1_000_000 }).catch(
      (error: unknown) => error,
    );
    if (!(refused instanceof InsufficientFundsError)) throw new Error('an overdraft was not refused');

    const history = (await store.readStream(stream)).map((e) => ({
      version: e.version,
      type: e.type,
      data: e.data,
      recordedAt: e.recordedAt.toISOString(),
    }));
    // The state as of 10:45: the deposit had happened, the withdrawal not yet.
    const past = await store.aggregateStream(stream, bankAccount, { asOf: new Date('2030-01-01T10:45:00Z') });

    // Read your own write: wait until the read model holds the withdrawal, then query it.
    if (!(await projector.waitForPosition(withdrawal.position, { timeoutMs: 10_000 }))) throw new Error('the projector fell behind');
    const [row] = await store.transaction((tx) =>
      tx.sql.query<{ balance: number }>('SELECT balance FROM account_balances WHERE account_id = $1', [stream]),
    );
    return {
      balance: withdrawal.state.balance,
      history,
      balanceAsOf1045: past.state.balance,
      projectedBalance: Number(row?.balance),
      refused: refused.message,
    };
  } finally {
    await projector.stop();
    await store.close();
  }
}

// Run as a program (not when a test imports it): a throwaway directory, the story, what it found.
if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const dir = mkdtempSync(join(tmpdir(), 'tidemark-bank-'));
  try {
    const result = await runExample(dir);
    for (const event of result.history) console.log(`v${event.version} ${event.recordedAt} ${event.type} ${JSON.stringify(event.data)}`);
    console.log(`balance now: ${result.balance}, as of 10:45: ${result.balanceAsOf1045}, read model: ${result.projectedBalance}`);
    console.log(JSON.stringify(result));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
