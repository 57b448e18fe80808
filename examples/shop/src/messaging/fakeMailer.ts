import {
  type CheckpointStore,
  createLogMessageConsumer,
  type DeliveredMessage,
  type EventStore,
  type Inbox,
  type Projector,
  type SqlTransaction,
  type StoreTransaction,
} from '@tidemark/core';
import { shopMessageMapper } from './shopMessageMapper.js';

type SqlTx = StoreTransaction & SqlTransaction;

export interface MailboxRow {
  messageId: string;
  messageType: string;
  recipient: string;
  subject: string;
  sentAt: string;
}

/** The consumer's name: its checkpoint and inbox key. */
export const mailerName = 'shop.mailer';

function mailFor(message: DeliveredMessage): { recipient: string; subject: string; body: string } {
  if (message.type === 'shop.account.opened') {
    const { accountId, owner } = message.data as { accountId: string; owner: string };
    return { recipient: owner, subject: 'Your account is open', body: `Welcome, ${owner}: account ${accountId} is ready.` };
  }
  const { orderId, customerId, total, itemCount } = message.data as {
    orderId: string;
    customerId: string;
    total: number;
    itemCount: number;
  };
  return {
    recipient: customerId,
    subject: `Order ${orderId} placed`,
    body: `${itemCount} item(s), ${(total / 100).toFixed(2)} in total.`,
  };
}

/**
 * A fake mailer: "sends" the account-opened and order-placed mails by writing them to the
 * `shop_mailbox` table. It is the durable in-process consumer of the embedded default — the log
 * from its own checkpoint, each message through the inbox — so a mail is written exactly once
 * even when the process is killed mid-way. The mailbox has no unique key on purpose: a mail sent
 * twice would show up as two rows.
 */
export function createFakeMailer(options: {
  store: EventStore<SqlTx>;
  checkpoints: CheckpointStore<SqlTx>;
  inbox: Inbox<SqlTx>;
}): Projector {
  return createLogMessageConsumer<SqlTx>({
    consumer: mailerName,
    store: options.store,
    checkpoints: options.checkpoints,
    inbox: options.inbox,
    mapper: shopMessageMapper,
    pollIntervalMs: 200,
    async setup(tx) {
      await tx.sql.execute(`CREATE TABLE IF NOT EXISTS shop_mailbox (
        message_id TEXT NOT NULL,
        message_type TEXT NOT NULL,
        recipient TEXT NOT NULL,
        subject TEXT NOT NULL,
        body TEXT NOT NULL,
        sent_at TEXT NOT NULL
      )`);
      await tx.sql.execute('CREATE INDEX IF NOT EXISTS shop_mailbox_recipient ON shop_mailbox (recipient)');
    },
    async handle(message, tx) {
      const mail = mailFor(message);
      await tx.sql.execute(
        'INSERT INTO shop_mailbox (message_id, message_type, recipient, subject, body, sent_at) VALUES ($1, $2, $3, $4, $5, $6)',
        [message.id, message.type, mail.recipient, mail.subject, mail.body, tx.clock.now().toISOString()],
      );
    },
  });
}

/** The mails of one recipient, oldest first. */
export async function mailboxOf(store: EventStore<SqlTx>, recipient: string): Promise<MailboxRow[]> {
  return store.transaction(async (tx) => {
    const rows = await tx.sql.query<{ message_id: string; message_type: string; recipient: string; subject: string; sent_at: string }>(
      'SELECT message_id, message_type, recipient, subject, sent_at FROM shop_mailbox WHERE recipient = $1 ORDER BY sent_at, message_id',
      [recipient],
    );
    return rows.map((row) => ({
      messageId: row.message_id,
      messageType: row.message_type,
      recipient: row.recipient,
      subject: row.subject,
      sentAt: row.sent_at,
    }));
  });
}
