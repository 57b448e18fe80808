import {
  type ForgottenSubject,
  type Projection,
  redactedMarker,
  type SqlQueries,
  type SqlTransaction,
  type StoreTransaction,
  subjectForgottenEventType,
} from '@tidemark/core';
import { type BankAccountEvent, bankAccountEventTypes } from '../bankAccounts/bankAccountEvents.js';
import { chunks, placeholders } from './sqlValues.js';

type SqlTx = StoreTransaction & SqlTransaction;

export interface AccountBalanceRow {
  accountId: string;
  owner: string;
  /** Integer cents. */
  balance: number;
  status: 'open' | 'closed';
  /** Stream version folded so far. */
  version: number;
  lastPosition: bigint;
}

/** One account's changes within a batch, applied as one statement. */
interface PendingAccount {
  opened?: { owner: string; initialDeposit: number };
  delta: number;
  closed: boolean;
  version: number;
  position: bigint;
}

/**
 * The account balance view of seed 003 ("balance = CREATED + DEPOSIT − WITHDRAWAL"): one row
 * per account, moved by relative updates, so an event applied twice would show as a wrong
 * balance (and a version that disagrees with the stream). The owner's name is personal data:
 * when its customer is forgotten (`privacy.subject.forgotten`), the row's owner becomes the
 * redaction marker — and a rebuild reads it redacted from the events themselves.
 */
export const accountBalanceProjection: Projection<SqlTx> = {
  name: 'shop.account_balances',
  // Filter by type rather than category: the types are unique to accounts, and a type filter reads faster on PostgreSQL.
  types: [...Object.values(bankAccountEventTypes).map((t) => t.type), subjectForgottenEventType],
  tables: ['shop_account_balances'],
  async setup(tx, tables) {
    await tx.sql.execute(`CREATE TABLE IF NOT EXISTS ${tables.name('shop_account_balances')} (
      account_id TEXT PRIMARY KEY,
      owner TEXT NOT NULL,
      balance BIGINT NOT NULL,
      status TEXT NOT NULL,
      version BIGINT NOT NULL,
      last_position BIGINT NOT NULL
    )`);
  },
  async apply(events, tx, tables) {
    const balances = tables.name('shop_account_balances');
    // Fold the batch per account first, then one statement per account: on PostgreSQL every
    // statement is a round trip, and a batch of deposits to one account needs only one.
    const pending = new Map<string, PendingAccount>();
    const forgottenAccounts: string[] = [];
    for (const raw of events) {
      if (raw.type === subjectForgottenEventType) {
        for (const streamId of (raw.data as ForgottenSubject).streamIds) {
          if (streamId.startsWith('account-')) forgottenAccounts.push(streamId.slice('account-'.length));
        }
        continue;
      }
      // The union discriminates on a DomainEvent, not on RecordedEvent's separate type and data fields.
      const event = { type: raw.type, data: raw.data } as BankAccountEvent;
      const accountId = raw.streamId.slice('account-'.length);
      const account = pending.get(accountId) ?? { delta: 0, closed: false, version: 0, position: 0n };
      pending.set(accountId, account);
      account.version = raw.version;
      account.position = raw.position;
      switch (event.type) {
        case 'bank.account.opened':
          account.opened = { owner: event.data.owner, initialDeposit: event.data.initialDeposit };
          break;
        case 'bank.account.funds_deposited':
          account.delta += event.data.amount;
          break;
        case 'bank.account.funds_withdrawn':
          account.delta -= event.data.amount;
          break;
        case 'bank.account.closed':
          account.closed = true;
          break;
      }
    }
    const opened: unknown[][] = [];
    const changed: unknown[][] = [];
    for (const [accountId, account] of pending) {
      const status = account.closed ? 'closed' : null;
      if (account.opened) {
        opened.push([
          accountId,
          account.opened.owner,
          account.opened.initialDeposit + account.delta,
          status ?? 'open',
          account.version,
          account.position,
        ]);
      } else {
        changed.push([accountId, account.delta, status, account.version, account.position]);
      }
    }
    // A few statements per batch, not one per account: the batch's transaction holds
    // PostgreSQL's readable horizon (every reader of the log waits for it) for as long as it
    // takes, and on a busy server each round trip waits behind the HTTP work of the process.
    for (const rows of chunks(opened)) {
      await tx.sql.execute(
        `INSERT INTO ${balances} (account_id, owner, balance, status, version, last_position) VALUES ${placeholders(rows, 6)}`,
        rows.flat(),
      );
    }
    for (const rows of chunks(changed)) {
      await tx.sql.execute(
        `UPDATE ${balances}
            SET balance = ${balances}.balance + v.column2, status = COALESCE(v.column3, ${balances}.status),
                version = v.column4, last_position = v.column5
           FROM (VALUES ${placeholders(rows, 5, ['TEXT', 'BIGINT', 'TEXT', 'BIGINT', 'BIGINT'])}) AS v
          WHERE ${balances}.account_id = v.column1`,
        rows.flat(),
      );
    }
    // Last: an account opened earlier in the same batch is inserted before it is redacted.
    for (const ids of chunks(forgottenAccounts.map((id) => [id]))) {
      await tx.sql.execute(`UPDATE ${balances} SET owner = $1 WHERE account_id IN (${ids.map((_, i) => `$${i + 2}`).join(', ')})`, [
        redactedMarker,
        ...ids.flat(),
      ]);
    }
  },
};

export async function findAccountBalance(sql: SqlQueries, accountId: string): Promise<AccountBalanceRow | undefined> {
  const rows = await sql.query(`SELECT * FROM shop_account_balances WHERE account_id = $1`, [accountId]);
  const row = rows[0];
  if (!row) return undefined;
  return {
    accountId: String(row.account_id),
    owner: String(row.owner),
    balance: Number(row.balance),
    status: row.status as AccountBalanceRow['status'],
    version: Number(row.version),
    lastPosition: BigInt(row.last_position as string | number),
  };
}
